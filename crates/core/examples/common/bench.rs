//! What the benchmarks share (each includes this file): the clock, the percentile of samples,
//! numbers from the command line, and the workspace size from `--messages N`.
#![allow(dead_code)] // each benchmark uses what it needs

use std::time::Duration;

use outpost_protocol::Millis;
use outpost_protocol::generate::Spec;

pub fn now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// The `p` quantile (0..=1) of the samples, nearest rank.
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let i = ((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1;
    samples[i]
}

/// The goal column's word for a figure that met its goal, or did not.
pub fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

/// The number after `name` in `args`, or `default`.
pub fn arg(
    args: &[String],
    name: &str,
    default: usize,
) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    match args.iter().position(|a| a == name) {
        Some(i) => Ok(args
            .get(i + 1)
            .ok_or(format!("{name} takes a number"))?
            .parse()?),
        None => Ok(default),
    }
}

/// The large workspace ending at `now`, scaled down by `--messages N` when given.
pub fn spec_from_args(
    args: &[String],
    now: Millis,
) -> Result<Spec, Box<dyn std::error::Error + Send + Sync>> {
    let mut spec = Spec::large(now);
    if let Some(i) = args.iter().position(|a| a == "--messages") {
        let n: usize = args
            .get(i + 1)
            .ok_or("--messages takes a number")?
            .parse()?;
        spec = spec.scaled_to(n);
    }
    Ok(spec)
}
