//! The memory limit on the real server: a full Redis refuses writes instead of growing.

use crate::support;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use redis_sentinel_gen::profile::defaults::REDIS_PORT;
use redis_sentinel_gen::rehearse::resp::{Conn, Reply, info_field};

use super::{CONVERGE, PASSWORD, reference_profile, render_text, scratch_dir, start_rig};

/// A full Redis refuses writes with an OOM error instead of growing past its container's
/// memory limit (finding 4): the rendered `maxmemory` holds on the real server.
///
/// The memory limit goes down to 64Mi (default maxmemory (64 − 4 − 2 × 4) / 2 = 26Mi) and
/// 64 KiB values are written to the master until it refuses one, for at most the limit's
/// worth of data plus a margin: a Redis without `maxmemory` takes it all.
#[test]
fn a_full_redis_refuses_writes_instead_of_growing() -> Result<()> {
    if !support::real_redis_prerequisites(&[]) {
        return Ok(());
    }
    let _turn = support::real_redis_turn();
    const LIMIT: u64 = 64 * 1024 * 1024;
    const VALUE: usize = 64 * 1024;
    let tmp = scratch_dir("maxmemory")?;
    let profile = support::edited(
        &reference_profile(),
        &[(
            "requests: { cpu: 100m, memory: 256Mi }\n      limits: { cpu: \"1\", memory: 512Mi }",
            "requests: { cpu: 100m, memory: 64Mi }\n      limits: { cpu: \"1\", memory: 64Mi }",
        )],
    );
    let rendered = render_text(&tmp, "small.yaml", &profile);
    let mut rig = start_rig(&rendered)?;
    let master = rig.wait_agreement(CONVERGE)?;
    let ip = rig.cluster.pod(&master)?.ip;
    let mut conn = Conn::open(
        SocketAddr::from((ip, REDIS_PORT)),
        Some(PASSWORD),
        Duration::from_secs(5),
    )?;
    let value = "x".repeat(VALUE);
    let bound = usize::try_from(LIMIT)? / VALUE + 64;
    let mut refused = None;
    let mut written = 0;
    for i in 0..bound {
        match conn.call(&["SET", &format!("fill:{i}"), &value])? {
            Reply::Status(_) => written += 1,
            Reply::Error(e) => {
                refused = Some(e);
                break;
            }
            other => bail!("SET answered {other:?}"),
        }
    }
    let info = conn.call(&["INFO", "memory"])?.text()?;
    let field = |k: &str| -> Result<u64> {
        info_field(&info, k)
            .with_context(|| format!("no {k} in INFO memory"))?
            .parse()
            .with_context(|| format!("{k} is not a number"))
    };
    let (used, maxmemory) = (field("used_memory")?, field("maxmemory")?);
    eprintln!(
        "{written} writes of {VALUE} bytes accepted; then {refused:?}; used_memory {used}, maxmemory {maxmemory}, limit {LIMIT}"
    );
    let refused = refused.with_context(|| {
        format!(
            "{written} writes ({} MiB) accepted without an error: used_memory {used} bytes, \
             maxmemory {maxmemory}, container limit {LIMIT}",
            written * VALUE / (1024 * 1024)
        )
    })?;
    ensure!(
        refused.starts_with("OOM"),
        "the write was refused with {refused:?}, not an OOM error"
    );
    // used_memory also counts what maxmemory leaves out (the replication backlog, the
    // replicas' and the AOF's buffers): the budget's reserve of limit/16 is for that.
    ensure!(
        maxmemory > 0 && used <= maxmemory + LIMIT / 16 && used < LIMIT / 2,
        "used_memory {used} above maxmemory {maxmemory} + {} or half the limit {LIMIT}",
        LIMIT / 16
    );
    // Reads still work on a full Redis.
    let read = conn.call(&["STRLEN", "fill:0"])?;
    ensure!(read == Reply::Int(VALUE as i64), "STRLEN answered {read:?}");
    Ok(())
}
