//! The health check and the DNS re-resolution of a [`BackendPool`]: one task per process
//! state, every `collector.grpc_channel_check_interval`.

use super::{lazy_channel, BackendPool};
use crate::backend::list;
use crate::runtime::runtime;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Longest the health check waits for a backend to accept a connection.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

impl BackendPool {
    /// Starts the health check and DNS re-resolution task of this process's state.
    pub(crate) fn start_monitor(this: &Arc<BackendPool>) {
        let weak = Arc::downgrade(this);
        let interval = this.settings.check_interval;
        let task = runtime().spawn(monitor(weak, interval));
        *this.monitor.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
    }

    /// The health check: when the current backend is down (its last connection attempt or
    /// call failed, or the server closed the connection) and no connection to it is open,
    /// tries to connect to the backends in turn, starting with it, and moves to the first
    /// that accepts. Nothing is sent on these connections.
    async fn check_health(&self) {
        let n = self.targets.len();
        let first = self.current_index();
        let target = &self.targets[first];
        if n < 2 || !target.health.is_down() || target.health.live() > 0 {
            return;
        }
        for i in 0..n {
            let idx = (first + i) % n;
            let t = &self.targets[idx];
            match tokio::time::timeout(PROBE_TIMEOUT, crate::connect::connect(t)).await {
                Ok(Ok(_conn)) => {
                    t.health.mark_up();
                    if i == 0 {
                        info!("health check: backend {} is reachable again", t.backend);
                    } else {
                        self.switch(first, idx, &format!("health check: {} is not reachable", target.backend));
                    }
                    return;
                }
                Ok(Err(e)) => {
                    t.health.mark_down();
                    debug!("health check: {} is not reachable: {}", t.backend, e.message);
                }
                Err(_) => {
                    t.health.mark_down();
                    debug!("health check: {} did not accept a connection within {:?}", t.backend, PROBE_TIMEOUT);
                }
            }
        }
        debug!("health check: no backend of {} is reachable", list(&self.settings.backends));
    }

    /// Periodic DNS re-resolution: when a backend's name resolves to other addresses than
    /// at the last check, its connection is replaced, so that the next call connects to
    /// one of the new addresses (an existing HTTP/2 connection would otherwise stay on the
    /// old one for as long as it lives).
    async fn refresh_dns(&self) {
        for (i, target) in self.targets.iter().enumerate() {
            let b = &target.backend;
            if b.ip().is_some() {
                continue;
            }
            let mut now: Vec<SocketAddr> = match crate::connect::resolve(b).await {
                Ok(addrs) => addrs,
                Err(e) => {
                    debug!("re-resolving {b}: {e}");
                    continue;
                }
            };
            now.sort();
            now.dedup();
            if now.is_empty() {
                continue;
            }
            let changed = {
                let mut resolved = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
                let before = std::mem::replace(&mut resolved[i], now.clone());
                (!before.is_empty() && before != now).then_some(before)
            };
            debug!("re-resolved {b}: {now:?}");
            if let Some(before) = changed {
                info!("backend {b} now resolves to {now:?} (was {before:?}); reconnecting to the new addresses");
                let mut slot = self.channels[i].write().unwrap_or_else(|p| p.into_inner());
                if slot.is_some() {
                    match lazy_channel(target) {
                        Ok(c) => *slot = Some(c),
                        Err(e) => warn!("re-resolving {b}: {}", e.message),
                    }
                }
            }
        }
    }
}

async fn monitor(pool: Weak<BackendPool>, interval: Duration) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(pool) = pool.upgrade() else { return };
        pool.check_health().await;
        pool.refresh_dns().await;
    }
}
