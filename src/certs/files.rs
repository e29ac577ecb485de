//! PEM encoding, and writing certificates and keys to files (keys readable by their owner
//! only).

use super::CertError as Error;
use std::fs;
use std::path::Path;

/// Encodes DER as PEM with the given label (64-column base64, LF line ends), with the `pem`
/// crate (the one rcgen's own PEM output uses).
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    pem::encode_config(&pem::Pem::new(label, der), pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_framing() {
        assert_eq!(pem_encode("X", b""), "-----BEGIN X-----\n-----END X-----\n");
        for (data, b64) in [(&b"f"[..], "Zg=="), (b"fo", "Zm8="), (b"foo", "Zm9v"), (b"foobar", "Zm9vYmFy")] {
            assert_eq!(pem_encode("X", data), format!("-----BEGIN X-----\n{b64}\n-----END X-----\n"));
        }
        let long = pem_encode("CERTIFICATE", &[0xff; 100]);
        let lines: Vec<&str> = long.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!((lines[1].len(), lines[2].len(), lines[3]), (64, 64, "/////w=="));
        assert!(!long.contains('\r'));
    }
}
