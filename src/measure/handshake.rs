//! The bootstrap conversation over the child's STDIN and STDOUT, as in the
//! seed: the parent writes one JSON config line, the child answers with one
//! JSON report line when it is ready (or why it refuses), and one more when it
//! has finished (with what it measured on its side).

use crate::record::{Complexity, TransportBuffer};
use serde::{Deserialize, Serialize};

/// Bumped whenever [`ChildConfig`] or [`ChildReport`] change incompatibly.
pub const PROTOCOL_VERSION: u32 = 3;

/// Set in the child's environment to make any ipc-bench executable act as a child.
pub const CHILD_ROLE_ENV: &str = "IPC_BENCH_CHILD_ROLE";

/// For a child whose STDIN and STDOUT carry the messages (the stdio
/// transport): the inherited descriptor it reads its configuration line
/// from instead of STDIN, and the one it writes its reports to instead of
/// STDOUT. Unset for every other child.
pub const CONTROL_FD_ENV: &str = "IPC_BENCH_CONTROL_FD";
pub const REPORT_FD_ENV: &str = "IPC_BENCH_REPORT_FD";

/// Everything the child needs, sent by the parent as one JSON line on STDIN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildConfig {
    pub protocol_version: u32,
    pub transport: String,
    pub codec: String,
    pub complexity: Complexity,
    pub payload_bytes: usize,
    /// The longest message either side will send; the transport is sized for it.
    pub max_message_bytes: usize,
    /// The transport's own settings (its `Transport::Config`), as chosen by the user.
    pub transport_config: serde_json::Value,
    /// The transport's own setup (a server name, a shared-memory id, ...).
    pub transport_setup: serde_json::Value,
    /// The parent's pid, so the child can notice when it is gone.
    pub parent_pid: u32,
    /// The core the child pins itself to, if any.
    pub child_core: Option<usize>,
    /// Set when the child is to consume a stream instead of answering pings.
    pub stream: Option<StreamRole>,
    /// Set when the shape's messages come from a file the child reads too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<crate::measure::own::file::MessagesFile>,
}

/// What a stream's child needs to know: how often to acknowledge, how many
/// slots its transport holds, and whether to time each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamRole {
    pub window: u32,
    pub record_latency: bool,
}

/// One line the child writes on STDOUT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ChildReport {
    /// Connected to the transport, waiting for the first ping.
    Ready,
    /// The config asks for something this child cannot do.
    Refused { error: String },
    /// Answered the stop message after `round_trips` pings (in a stream,
    /// messages taken).
    Done {
        round_trips: u64,
        cpu_secs: Option<f64>,
        /// A stream's one-way latencies, as `[nanoseconds, count]` buckets.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        one_way_ns: Option<Vec<[u64; 2]>>,
        /// The child's peak resident memory over its life, in bytes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peak_bytes: Option<u64>,
        /// The buffers its end of the transport held as it ended.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        buffers: Option<Vec<TransportBuffer>>,
    },
    /// Failed after it was ready.
    Failed { error: String },
}

/// Why a config line was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("the configuration is not valid JSON: {0}")]
    NotJson(String),
    #[error("protocol version mismatch: the parent speaks {parent}, this child speaks {child} (rebuild both from the same source)")]
    Version { parent: String, child: u32 },
    #[error("malformed configuration: {0}")]
    Malformed(String),
    #[error("refusing the configuration: {0}")]
    OutOfRange(String),
}

/// The largest payload a run may carry, checked by the CLI and again by the
/// child: far beyond any sensible IPC message.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024 * 1024;
/// The largest message the child accepts to size its transport for: twice the
/// largest payload leaves room for any format's envelope. The child also
/// checks the value against what its own format needs (see `child`).
pub const MAX_MESSAGE_BYTES: usize = 2 * MAX_PAYLOAD_BYTES;

impl ChildConfig {
    /// Parses a config line, checking the protocol version before the fields,
    /// so that a newer parent gets a version error rather than a field error.
    pub fn parse(line: &str) -> Result<Self, ConfigError> {
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| ConfigError::NotJson(e.to_string()))?;
        match value.get("protocol_version") {
            Some(serde_json::Value::Number(n)) if n.as_u64() == Some(PROTOCOL_VERSION as u64) => {}
            other => {
                return Err(ConfigError::Version {
                    parent: other.map_or_else(|| "no version".to_string(), |v| v.to_string()),
                    child: PROTOCOL_VERSION,
                })
            }
        }
        let config: ChildConfig =
            serde_json::from_value(value).map_err(|e| ConfigError::Malformed(e.to_string()))?;
        config.check_sizes()?;
        Ok(config)
    }

    /// Every size in the config is within what this tool ever sends, before
    /// the child allocates or maps anything from it.
    fn check_sizes(&self) -> Result<(), ConfigError> {
        if self.payload_bytes > MAX_PAYLOAD_BYTES {
            return Err(ConfigError::OutOfRange(format!(
                "payload_bytes {} is larger than {MAX_PAYLOAD_BYTES}",
                self.payload_bytes
            )));
        }
        let max_message = self.max_message_bytes;
        if max_message > MAX_MESSAGE_BYTES {
            return Err(ConfigError::OutOfRange(format!(
                "max_message_bytes {max_message} is larger than {MAX_MESSAGE_BYTES}"
            )));
        }
        if let Some(StreamRole { window, .. }) = self.stream {
            if !(1..=crate::record::traffic::MAX_WINDOW).contains(&window) {
                return Err(ConfigError::OutOfRange(format!(
                    "stream window {window} is outside 1..={}",
                    crate::record::traffic::MAX_WINDOW
                )));
            }
        }
        Ok(())
    }

    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a config always serializes")
    }
}

impl ChildReport {
    pub fn parse(line: &str) -> Result<Self, String> {
        serde_json::from_str(line).map_err(|e| format!("{e} in {line:?}"))
    }

    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a report always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ChildConfig {
        ChildConfig {
            protocol_version: PROTOCOL_VERSION,
            transport: "ipcc".into(),
            codec: "json".into(),
            complexity: Complexity::Structured,
            payload_bytes: 32,
            max_message_bytes: 200,
            transport_config: serde_json::json!(null),
            transport_setup: serde_json::json!({"server_name": "x"}),
            parent_pid: 1,
            child_core: None,
            stream: Some(StreamRole {
                window: 16,
                record_latency: true,
            }),
            messages: None,
        }
    }

    #[test]
    fn config_round_trips() {
        let c = config();
        assert_eq!(ChildConfig::parse(&c.to_line()).unwrap(), c);
    }

    /// Found by the `handshake_config` fuzz target: without serde_json's
    /// `float_roundtrip` a number in a transport's setup document could come
    /// back one bit off after the parent wrote it and the child read it.
    #[test]
    fn every_number_in_a_setup_survives_the_handshake_exactly() {
        let mut text = serde_json::to_value(config()).unwrap();
        text["transport_setup"] = serde_json::json!("SETUP");
        // The fuzzer's input: an integer too large for u64, read as a float.
        let text = text.to_string().replace(
            r#""SETUP""#,
            r#"{"x": 7.777777777777775e+44, "y": 777777777777777700000000001431735920721226773, "z": 0.1}"#,
        );
        let read = ChildConfig::parse(&text).unwrap();
        let line = read.to_line();
        let again = ChildConfig::parse(&line).unwrap();
        assert_eq!(again, read);
        assert_eq!(again.to_line(), line);
    }

    #[test]
    fn version_mismatch_is_reported_as_such() {
        let mut v = serde_json::to_value(config()).unwrap();
        v["protocol_version"] = serde_json::json!(PROTOCOL_VERSION + 1);
        v["a_field_from_the_future"] = serde_json::json!(true);
        let err = ChildConfig::parse(&v.to_string()).unwrap_err();
        assert!(matches!(err, ConfigError::Version { .. }), "{err}");
        assert!(err
            .to_string()
            .contains(&format!("{}", PROTOCOL_VERSION + 1)));
    }

    #[test]
    fn malformed_configs_are_rejected() {
        assert!(matches!(
            ChildConfig::parse("not json"),
            Err(ConfigError::NotJson(_))
        ));
        assert!(matches!(
            ChildConfig::parse("{}"),
            Err(ConfigError::Version { .. })
        ));
        let mut v = serde_json::to_value(config()).unwrap();
        v["complexity"] = serde_json::json!("not a shape!");
        assert!(matches!(
            ChildConfig::parse(&v.to_string()),
            Err(ConfigError::Malformed(_))
        ));
        let mut v = serde_json::to_value(config()).unwrap();
        v.as_object_mut().unwrap().remove("payload_bytes");
        assert!(matches!(
            ChildConfig::parse(&v.to_string()),
            Err(ConfigError::Malformed(_))
        ));
    }

    #[test]
    fn sizes_beyond_what_a_parent_sends_are_refused() {
        for (field, value) in [
            ("payload_bytes", serde_json::json!(MAX_PAYLOAD_BYTES + 1)),
            ("payload_bytes", serde_json::json!(u64::MAX)),
        ] {
            let mut v = serde_json::to_value(config()).unwrap();
            v[field] = value;
            let err = ChildConfig::parse(&v.to_string()).unwrap_err();
            assert!(matches!(err, ConfigError::OutOfRange(_)), "{err}");
        }
        let mut v = serde_json::to_value(config()).unwrap();
        v["max_message_bytes"] = serde_json::json!(usize::MAX / 2);
        let err = ChildConfig::parse(&v.to_string()).unwrap_err();
        assert!(err.to_string().contains("max_message_bytes"), "{err}");
        for window in [0, crate::record::traffic::MAX_WINDOW + 1] {
            let mut v = serde_json::to_value(config()).unwrap();
            v["stream"]["window"] = serde_json::json!(window);
            let err = ChildConfig::parse(&v.to_string()).unwrap_err();
            assert!(err.to_string().contains("stream window"), "{err}");
        }
    }

    #[test]
    fn reports_round_trip() {
        for r in [
            ChildReport::Ready,
            ChildReport::Refused { error: "no".into() },
            ChildReport::Done {
                round_trips: 5,
                cpu_secs: Some(0.5),
                one_way_ns: None,
                peak_bytes: Some(3_145_728),
                buffers: Some(vec![TransportBuffer {
                    kind: crate::record::BufferKind::Pipe,
                    of: "pipe:[77]".into(),
                    bytes: 65_536,
                }]),
            },
            ChildReport::Done {
                round_trips: 5,
                cpu_secs: None,
                one_way_ns: Some(vec![[100, 3], [2000, 1]]),
                peak_bytes: None,
                buffers: None,
            },
            ChildReport::Failed {
                error: "bad".into(),
            },
        ] {
            assert_eq!(ChildReport::parse(&r.to_line()).unwrap(), r);
        }
        assert!(ChildReport::parse("hello").is_err());
    }
}
