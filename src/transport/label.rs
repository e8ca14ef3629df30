//! Transports by name: the labels users see and type (a transport and its
//! variant), looking a name up, and what to say about a name this build
//! does not have (a feature to enable, a platform it needs).

use super::{
    decode_config, dispatch, encode_config, Transport, TransportError, TransportId, TransportInfo,
    TransportVisitor, FEATURE_GATED, TRANSPORTS,
};

/// A transport label users see and type (`raw-sync-spin`, `iceoryx2-pub-sub`,
/// `ipcc`): the transport's name, and its variant if it has several.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub label: String,
    pub transport: TransportId,
    pub variant: Option<String>,
    /// The config that selects this variant, in its opaque form.
    pub config: serde_json::Value,
    /// The `run` flags that select it.
    pub flags: Vec<String>,
}

/// `name` with its variant, as labels and file names show it.
pub fn label_text(name: &str, variant: Option<&str>) -> String {
    match variant {
        Some(v) => format!("{name}-{v}"),
        None => name.to_string(),
    }
}

fn label_of<T: Transport>(id: TransportId, config: &T::Config) -> Label {
    let variant = T::variant(config);
    Label {
        label: label_text(T::NAME, variant.as_deref()),
        transport: id,
        variant,
        flags: T::flags(config),
        config: encode_config(config),
    }
}

/// The label of transport `id` run with `config` (opaque form).
pub fn label(id: TransportId, config: &serde_json::Value) -> Result<Label, TransportError> {
    struct Labelled<'a>(TransportId, &'a serde_json::Value);
    impl TransportVisitor for Labelled<'_> {
        type Output = Result<Label, TransportError>;
        fn visit<T: Transport>(self) -> Self::Output {
            Ok(label_of::<T>(self.0, &decode_config(self.1)?))
        }
    }
    dispatch(id, Labelled(id, config))
}

/// Every label of every transport in this build, in registry order.
pub fn labels() -> Vec<Label> {
    struct Variants(TransportId);
    impl TransportVisitor for Variants {
        type Output = Vec<Label>;
        fn visit<T: Transport>(self) -> Self::Output {
            T::variants()
                .iter()
                .map(|config| label_of::<T>(self.0, config))
                .collect()
        }
    }
    TRANSPORTS
        .iter()
        .flat_map(|info| dispatch(info.id, Variants(info.id)))
        .collect()
}

/// Looks a transport up by name.
pub fn lookup(name: &str) -> Option<&'static TransportInfo> {
    TRANSPORTS.iter().find(|t| t.name == name)
}

/// The accepted transport names, for error messages.
pub fn names() -> String {
    TRANSPORTS
        .iter()
        .map(|t| t.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Cargo feature that builds transport `name`, if it is an optional one.
pub fn feature_for(name: &str) -> Option<&'static str> {
    FEATURE_GATED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, feature)| feature)
}

/// Why `name` is not a transport of this build, for error messages.
pub fn unknown_transport_message(name: &str) -> String {
    if let Some((_, platforms)) = PLATFORM_BOUND.iter().find(|(n, _)| *n == name) {
        return format!(
            "transport '{name}' is not available on this platform: it needs {platforms} (available here: {})",
            names()
        );
    }
    match feature_for(name) {
        Some(feature) => format!(
            "transport '{name}' is not compiled into this executable; build with `--features {feature}` (or `--features full`)"
        ),
        None => format!("unknown transport '{name}' (known: {})", names()),
    }
}

/// Transports that exist only where their mechanism does, with where that
/// is (as the registry's `cfg` says), for the error on other platforms.
/// A transport compiled into this build never reaches the error.
const PLATFORM_BOUND: &[(&str, &str)] = &[
    ("futex", "Linux (its futex wait)"),
    ("posix-mq", "POSIX message queues: Linux or FreeBSD"),
    (
        "unix-datagram",
        "SOCK_SEQPACKET Unix sockets: Linux, Android, FreeBSD, NetBSD or OpenBSD",
    ),
    ("pipe", "a Unix"),
    ("stdio", "a Unix"),
    ("unix-socket", "a Unix"),
    ("tokio", "a Unix"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transport_of_another_platform_is_named_with_where_it_runs() {
        let message = unknown_transport_message("posix-mq");
        assert!(
            message.contains("not available on this platform")
                && message.contains("Linux or FreeBSD"),
            "{message}"
        );
        assert!(unknown_transport_message("carrier-pigeon").starts_with("unknown transport"));
        // Every platform-bound name is a real transport's, here or elsewhere.
        for (name, _) in PLATFORM_BOUND {
            assert!(
                lookup(name).is_some()
                    || feature_for(name).is_some()
                    || cfg!(not(target_os = "linux")),
                "{name} is not a transport on Linux"
            );
        }
    }
}
