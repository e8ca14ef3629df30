//! Turning parsed flags into validated, typed specs: a [`CaseSpec`] for
//! `run` and the parent binaries, a [`MatrixSpec`] for `matrix`, both built
//! on the same [`CaseSettings`]. Everything a parser alone cannot see (a
//! codec missing from the build, an unusable placement, a child executable
//! that is not one) is found here, before anything is spawned.

use crate::cli::args::{CaseArgs, CommonArgs, MatrixArgs};
use crate::cli::matrix::MatrixSpec;
use crate::measure::engine::EngineConfig;
use crate::measure::placement::{self};
use crate::measure::runner::{CaseSettings, CaseSpec};
use crate::record::traffic::{
    DEFAULT_MATRIX_RATES, DEFAULT_MATRIX_WINDOWS, DEFAULT_RATE_PER_SEC, DEFAULT_STREAM_WINDOW,
};
use crate::record::Complexity;
use crate::record::PinMode;
use crate::record::{Pattern, Traffic};
use crate::transport::{TransportId, TRANSPORTS};
use codecs::CodecId;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A bad input, reported as one line and exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// What every case shares, from the flags `run` and `matrix` have in common.
fn settings(
    common: &CommonArgs,
    duration: f64,
    warmup: f64,
    rounds: usize,
    child_bin: Option<PathBuf>,
    announce_phases: bool,
) -> CaseSettings {
    CaseSettings {
        rounds,
        max_rounds: common.max_rounds,
        precision: (common.precision > 0.0).then_some(common.precision),
        max_time: common.max_time.map(Duration::from_secs_f64),
        engine: EngineConfig {
            warmup: Duration::from_secs_f64(warmup),
            duration: Duration::from_secs_f64(duration),
            record_latency: !common.no_latency,
            settle: !common.fixed_warmup,
        },
        child_bin,
        handshake_timeout: Duration::from_secs_f64(common.handshake_timeout),
        stall_timeout: Duration::from_secs_f64(common.stall_timeout),
        announce_phases,
    }
}

pub(crate) fn check_codec(codec: &str, flag: &str) -> Result<CodecId, UsageError> {
    CodecId::parse(codec)
        .map_err(|e| UsageError(format!("invalid value '{codec}' for {flag}: {e}")))
}

/// The traffic `run` asks for: a rate only with the rate pattern, which
/// times every request and so cannot run with --no-latency; a window only
/// with the stream pattern.
fn traffic(
    pattern: Pattern,
    rate: Option<u64>,
    window: Option<u32>,
    no_latency: bool,
) -> Result<Traffic, UsageError> {
    if let (Some(rate), false) = (rate, pattern == Pattern::Rate) {
        return Err(UsageError(format!(
            "invalid value '{rate}' for --rate/RATE: only the rate pattern takes an offered rate; add --pattern rate (or unset RATE)"
        )));
    }
    if let (Some(window), false) = (window, pattern == Pattern::Stream) {
        return Err(UsageError(format!(
            "invalid value '{window}' for --window/WINDOW: only the stream pattern takes a window; add --pattern stream (or unset WINDOW)"
        )));
    }
    match pattern {
        Pattern::PingPong => Ok(Traffic::default()),
        Pattern::Rate if no_latency => Err(UsageError(
            "--no-latency cannot be used with --pattern rate: a fixed-rate run is there to time every request".into(),
        )),
        Pattern::Rate => Ok(Traffic::rate(rate.unwrap_or(DEFAULT_RATE_PER_SEC))),
        Pattern::Stream => Ok(Traffic::stream(window.unwrap_or(DEFAULT_STREAM_WINDOW))),
    }
}

/// Every traffic a matrix combines: ping-pong once, the rate pattern once
/// per offered rate, the stream once per window.
fn traffics(
    patterns: &[Pattern],
    rates: &[u64],
    windows: &[u32],
    no_latency: bool,
) -> Result<Vec<Traffic>, UsageError> {
    let with_rate = patterns.contains(&Pattern::Rate);
    if !with_rate && !rates.is_empty() {
        return Err(UsageError(
            "--rates needs the rate pattern: add --patterns rate (or ping-pong,rate)".into(),
        ));
    }
    if !patterns.contains(&Pattern::Stream) && !windows.is_empty() {
        return Err(UsageError(
            "--windows needs the stream pattern: add --patterns stream (or ping-pong,stream)"
                .into(),
        ));
    }
    if with_rate && no_latency {
        return Err(UsageError(
            "--no-latency cannot be used with the rate pattern: a fixed-rate run is there to time every request".into(),
        ));
    }
    let or_default = |given: &[u64], default: &[u64]| {
        if given.is_empty() {
            default.to_vec()
        } else {
            given.to_vec()
        }
    };
    let rates = or_default(rates, &DEFAULT_MATRIX_RATES);
    let windows: Vec<u64> = windows.iter().map(|&w| u64::from(w)).collect();
    let windows = or_default(&windows, &DEFAULT_MATRIX_WINDOWS.map(u64::from));
    let mut out = Vec::new();
    for &pattern in patterns {
        match pattern {
            Pattern::PingPong => out.push(Traffic::default()),
            Pattern::Rate => out.extend(rates.iter().map(|&r| Traffic::rate(r))),
            // Parsed as u32 (at most MAX_WINDOW): the conversion back cannot fail.
            Pattern::Stream => out.extend(windows.iter().map(|&w| Traffic::stream(w as u32))),
        }
    }
    out.dedup();
    Ok(out)
}

fn check_pin(pin: PinMode, flag: &str) -> Result<(), UsageError> {
    placement::plan(pin)
        .map(|_| ())
        .map_err(|e| UsageError(format!("invalid value '{}' for {flag}: {e}", pin.name())))
}

impl CaseArgs {
    /// Checks what the parsers cannot see alone and builds the case.
    pub fn to_spec(&self, transport: TransportId) -> Result<CaseSpec, UsageError> {
        let (codec, codec_reason) = match &self.codec {
            Some(codec) => (codec.clone(), "chosen with --codec or CODEC".to_string()),
            None => {
                let default = codecs::default_codec();
                (
                    default.name.to_string(),
                    format!("{}; --codec or CODEC to choose", default.reason),
                )
            }
        };
        let complexity = self.complexity.unwrap_or_else(|| {
            let own = default_complexities().into_iter().find(|c| c.is_own());
            own.unwrap_or(Complexity::Structured)
        });
        // Raw strings use no codec, so one missing from the build is no error.
        let codec = match complexity {
            Complexity::RawString => CodecId::Json,
            Complexity::Own(name) => check_own_codec(name, &codec, "--codec/CODEC")?,
            _ => check_codec(&codec, "--codec/CODEC")?,
        };
        check_pin(self.pin, "--pin/PIN")?;
        let traffic = traffic(self.pattern, self.rate, self.window, self.common.no_latency)?
            .with_children(self.children);
        let info = transport.info();
        let child_bin = match &self.child_bin {
            Some(path) => Some(check_executable("--child-bin", path)?),
            None => match std::env::var_os(info.child_bin_env) {
                Some(path) if !path.is_empty() => {
                    Some(check_executable(info.child_bin_env, Path::new(&path))?)
                }
                _ => None,
            },
        };
        Ok(CaseSpec {
            transport,
            transport_config: self.transport_flags.config_of(transport),
            codec,
            codec_reason,
            complexity,
            payload_bytes: self.payload_bytes,
            pin: self.pin,
            traffic,
            settings: settings(
                &self.common,
                self.duration,
                self.warmup,
                self.rounds,
                child_bin,
                true,
            )
            .for_traffic(&traffic),
        })
    }
}

impl MatrixArgs {
    /// Checks the lists and builds the matrix.
    pub fn to_spec(&self) -> Result<MatrixSpec, UsageError> {
        let codecs = if self.codecs.is_empty() {
            default_codecs()
                .into_iter()
                .map(|name| check_codec(name, "--codecs"))
                .collect::<Result<_, _>>()?
        } else {
            self.codecs
                .iter()
                .map(|codec| check_codec(codec, "--codecs"))
                .collect::<Result<_, _>>()?
        };
        for &pin in &self.pin {
            check_pin(pin, "--pin")?;
        }
        let traffics = traffics(
            &self.patterns,
            &self.rates,
            &self.windows,
            self.common.no_latency,
        )?
        .into_iter()
        .flat_map(|t| self.children.iter().map(move |&n| t.with_children(n)))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
        let transports = if self.transports.is_empty() {
            TRANSPORTS
                .iter()
                .filter(|t| t.in_default_matrix)
                .map(|t| t.id)
                .collect()
        } else {
            self.transports.clone()
        };
        Ok(MatrixSpec {
            transports: transports
                .into_iter()
                .map(|id| (id, self.transport_flags.configs_of(id)))
                .collect(),
            codecs,
            complexities: match self.complexities.is_empty() {
                true => default_complexities(),
                false => self.complexities.clone(),
            },
            payloads: self.payloads.clone(),
            pins: self.pin.clone(),
            traffics,
            // Every case re-executes this binary as its child; a matrix
            // shows its own progress instead of each case's phases.
            settings: settings(
                &self.common,
                self.duration,
                self.warmup,
                self.rounds,
                None,
                false,
            ),
            seed: self.seed.unwrap_or_else(|| fastrand::u64(..)),
            reference: self.reference.clone(),
        })
    }
}

/// The shapes a run measures when none is named: a program's own shapes
/// (its message types, or --messages' file) when it has any, for that is
/// what it was built to measure; raw strings and the structured ping
/// otherwise (`run` takes the structured ping).
pub fn default_complexities() -> Vec<Complexity> {
    let own: Vec<Complexity> = crate::measure::own::registered()
        .iter()
        .map(|shape| Complexity::Own(shape.name))
        .collect();
    match own.is_empty() {
        true => vec![Complexity::RawString, Complexity::Structured],
        false => own,
    }
}

/// The codec `codec` for own shape `name`, if it carries it.
fn check_own_codec(
    name: crate::record::ShapeName,
    codec: &str,
    flag: &str,
) -> Result<CodecId, UsageError> {
    check_codec(codec, flag)?;
    let shape = crate::measure::own::find(name)
        .ok_or_else(|| UsageError(format!("unknown shape '{}'", name.as_str())))?;
    shape.codec(codec).map_err(|why| {
        UsageError(format!(
            "invalid value '{codec}' for {flag}: {why} (shape '{}' goes through {})",
            name.as_str(),
            shape.codecs().join(", ")
        ))
    })
}

/// Codecs the default matrix leaves to `--codecs` when their sibling is
/// compiled: a format of the same kind, whose row tells the reader nearly
/// what theirs would (cbor and msgpack, self-describing binary; bincode and
/// postcard, serde's compact binary), so that the default's ten transports
/// fit in the time eight took. `ipc-bench codecs` measures every one.
const LEFT_TO_THEIR_SIBLING: [(&str, &str); 2] = [("cbor", "msgpack"), ("bincode", "postcard")];

/// The codecs of the default matrix: every compiled codec but those left to
/// a compiled sibling.
pub fn default_codecs() -> Vec<&'static str> {
    let compiled = codecs::compiled_names();
    let left = |name: &str| {
        LEFT_TO_THEIR_SIBLING
            .iter()
            .any(|&(codec, sibling)| codec == name && compiled.contains(&sibling))
    };
    compiled
        .iter()
        .copied()
        .filter(|name| !left(name))
        .collect()
}

fn check_executable(name: &str, path: &Path) -> Result<PathBuf, UsageError> {
    let bad = |why: &str| {
        UsageError(format!(
            "invalid value '{}' for {name}: {why}; accepted: the path of an executable ipc-bench child (such as target/release/ipcc-child)",
            path.display()
        ))
    };
    let meta = std::fs::metadata(path).map_err(|_| bad("no such file"))?;
    if meta.is_dir() {
        return Err(bad("it is a directory"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(bad("it is not executable"));
        }
    }
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_takes_a_window_and_only_a_stream_does() {
        let stream = traffic(Pattern::Stream, None, None, false).unwrap();
        assert_eq!(stream, Traffic::stream(DEFAULT_STREAM_WINDOW));
        assert_eq!(
            traffic(Pattern::Stream, None, Some(4), true).unwrap(),
            Traffic::stream(4),
            "one-way latency is optional: --no-latency streams"
        );
        assert!(traffic(Pattern::PingPong, None, Some(4), false).is_err());
        assert!(traffic(Pattern::Rate, None, Some(4), false).is_err());
        assert!(traffic(Pattern::Stream, Some(500), None, false).is_err());
    }

    #[test]
    fn a_matrix_streams_once_per_window() {
        let both = traffics(&[Pattern::PingPong, Pattern::Stream], &[], &[], false).unwrap();
        let expected: Vec<Traffic> = std::iter::once(Traffic::default())
            .chain(DEFAULT_MATRIX_WINDOWS.map(Traffic::stream))
            .collect();
        assert_eq!(both, expected);
        let chosen = traffics(&[Pattern::Stream], &[], &[4, 4, 8], false).unwrap();
        assert_eq!(chosen, [Traffic::stream(4), Traffic::stream(8)]);
        assert!(traffics(&[Pattern::PingPong], &[], &[4], false).is_err());
    }
}

#[cfg(test)]
mod default_matrix_tests {
    use super::*;
    use crate::cli::args::{Cli, Command};
    use clap::Parser;

    fn default_matrix() -> MatrixSpec {
        let cli = Cli::try_parse_from(["ipc-bench", "matrix"]).unwrap();
        let Some(Command::Matrix(args)) = cli.command else {
            panic!("matrix parses as the matrix command")
        };
        args.to_spec().unwrap()
    }

    #[test]
    fn the_default_matrix_leaves_the_opt_in_transports_and_sibling_codecs_out() {
        let spec = default_matrix();
        let names: Vec<&str> = spec.transports.iter().map(|(id, _)| id.name()).collect();
        for opt_in in ["futex", "udp", "unix-datagram", "posix-mq"] {
            assert!(!names.contains(&opt_in), "{opt_in} in {names:?}");
        }
        for always in ["ipcc", "raw-sync", "spin", "pipe", "unix-socket", "tcp"] {
            assert!(names.contains(&always), "{always} missing from {names:?}");
        }
        #[cfg(unix)]
        assert!(names.contains(&"stdio"), "{names:?}");
        let compiled = codecs::compiled_names();
        let codecs: Vec<&str> = spec.codecs.iter().map(|c| c.name()).collect();
        for name in &compiled {
            let sibling = LEFT_TO_THEIR_SIBLING
                .iter()
                .find(|(codec, _)| codec == name)
                .map(|(_, sibling)| sibling);
            let left_out = sibling.is_some_and(|s| compiled.contains(s));
            assert_eq!(codecs.contains(name), !left_out, "{name}: {codecs:?}");
        }
    }
}
