//! PEM encoding, and writing certificates and keys to files (keys readable by their owner
//! only).

use super::CertError as Error;
use std::fs;
use std::path::Path;

/// Encodes DER as PEM with the given label (64-column base64, LF line ends).
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

fn create_parent(path: &Path) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() {
            fs::create_dir_all(parent).map_err(|e| Error::new(format!("creating {}: {e}", parent.display())))?;
        }
    }
    Ok(())
}

pub(super) fn write_file(path: &Path, data: &[u8]) -> Result<(), Error> {
    create_parent(path)?;
    fs::write(path, data).map_err(|e| Error::new(format!("writing {}: {e}", path.display())))
}

/// Writes a private key: readable by its owner only (mode 0600 on Unix), also when the
/// file existed before with a wider mode.
pub(super) fn write_secret(path: &Path, data: &[u8]) -> Result<(), Error> {
    create_parent(path)?;
    let failed = |e: std::io::Error| Error::new(format!("writing {}: {e}", path.display()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path).map_err(failed)?;
        file.set_permissions(fs::Permissions::from_mode(0o600)).map_err(failed)?;
        std::io::Write::write_all(&mut &file, data).map_err(failed)
    }
    #[cfg(not(unix))]
    {
        let mut file = options.open(path).map_err(failed)?;
        std::io::Write::write_all(&mut file, data).map_err(failed)
    }
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
