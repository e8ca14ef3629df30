//! The entry point of a team's own program: its message type, a few sample
//! values, and the whole command line with them as a shape of its own.
//!
//! ```no_run
//! # #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
//! # struct Order { id: u64 }
//! fn main() -> std::process::ExitCode {
//!     let samples = vec![Order { id: 1 }, Order { id: 2 }];
//!     ipc_bench::OwnMessages::new("order", samples).main()
//! }
//! ```
//!
//! Every serde codec of the build carries the type (json always; postcard,
//! msgpack, bincode, cbor with their features). bitcode, rkyv and protobuf
//! carry it when the type has their derives and the program asks for them
//! with [`OwnMessages::with`]; asking for one without the derive is a
//! compile error that names it, and not asking leaves the codec out with a
//! one-line reason. The program is its own child: it re-executes itself,
//! so both sides know the type.

use crate::measure::own::{self, Origin, OwnShape, OwnValue};
use crate::record::ShapeName;
use codecs::Carries;
use std::process::ExitCode;
use std::sync::Arc;

/// Adds one codec to a shape of samples of `T`.
type AddCodec<T> = fn(&mut OwnShape, Arc<[T]>);

/// A team's message type `T` and its samples, to be measured as a shape
/// called `name` beside the built-in ones.
pub struct OwnMessages<T> {
    name: String,
    samples: Vec<T>,
    /// The codecs that carry `T` by derives of their own, added by `with`.
    extra: Vec<AddCodec<T>>,
}

impl<T: OwnValue> OwnMessages<T> {
    /// `samples` are sent in turn, one per message, and every message is
    /// checked equal to the sample it carried, on both sides. A value that
    /// is not equal to itself (a float NaN) can never pass that check.
    pub fn new(name: &str, samples: impl IntoIterator<Item = T>) -> Self {
        OwnMessages {
            name: name.to_string(),
            samples: samples.into_iter().collect(),
            extra: Vec::new(),
        }
    }

    /// Also measures codec `C` (`codecs::Bitcode`, `codecs::Rkyv`,
    /// `codecs::Protobuf`), which carries `T` by derives of its own.
    pub fn with<C: Carries<T>>(mut self) -> Self {
        self.extra
            .push(|shape, samples| shape.carry_with::<T, C>(samples));
        self
    }

    /// Makes the shape known to this process, so that every command (and
    /// the child this program becomes) can use it.
    pub fn register(self) -> Result<(), String> {
        let name = ShapeName::new(&self.name)?;
        // A value unequal to itself (a NaN inside) is what this looks for.
        #[allow(clippy::eq_op)]
        let unequal = self.samples.iter().position(|s| s != s);
        if let Some(index) = unequal {
            return Err(format!(
                "sample {index} of shape '{}' is not equal to itself (a NaN?): no message carrying it could be checked",
                self.name
            ));
        }
        let samples: Arc<[T]> = self.samples.clone().into();
        let origin = Origin::Type {
            type_name: std::any::type_name::<T>(),
        };
        let type_name = std::any::type_name::<T>();
        // One reason for every codec left out, so a matrix says it once.
        let mut shape = OwnShape::new(name, origin, self.samples, false, |_| {
            format!(
                "bitcode, rkyv and protobuf carry a type through derives of their own: derive them on `{type_name}` and ask for each with `.with::<ipc_bench::codecs::Bitcode>()` (or `Rkyv`, `Protobuf`)"
            )
        })?;
        for add in self.extra {
            add(&mut shape, samples.clone());
        }
        own::register(shape).map(drop)
    }

    /// Registers the shape and runs the command line (`ipc-bench`'s own:
    /// `run`, `matrix`, `compare`, `plot`, `report`, `codecs`, ...).
    pub fn main(self) -> ExitCode {
        if let Err(e) = self.register() {
            eprintln!("error: {e}");
            return ExitCode::from(crate::cli::cmd::EXIT_USAGE);
        }
        crate::cli::cmd::main()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Complexity;

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Point {
        x: f64,
    }

    #[test]
    fn a_registered_type_is_a_shape_of_the_command_line() {
        OwnMessages::new("cli-own-point", [Point { x: 1.0 }, Point { x: 2.5 }])
            .register()
            .unwrap();
        let shape = own::parse_complexity("cli-own-point").unwrap();
        assert!(matches!(shape, Complexity::Own(_)));
        let known = own::find(ShapeName::new("cli-own-point").unwrap()).unwrap();
        assert!(known.codecs().contains(&"json"));
        for (codec, why) in known.refusals() {
            assert!(["bitcode", "rkyv", "protobuf"].contains(&codec), "{codec}");
            assert!(why.contains(".with::<ipc_bench::codecs::"), "{why}");
        }
    }

    #[test]
    fn a_nan_sample_is_refused_with_its_index() {
        let err = OwnMessages::new("cli-own-nan", [Point { x: 0.0 }, Point { x: f64::NAN }])
            .register()
            .unwrap_err();
        assert!(err.contains("sample 1"), "{err}");
        let err = OwnMessages::new("log", [Point { x: 0.0 }])
            .register()
            .unwrap_err();
        assert!(err.contains("built-in"), "{err}");
        let err = OwnMessages::<Point>::new("cli-own-none", [])
            .register()
            .unwrap_err();
        assert!(err.contains("no samples"), "{err}");
    }
}
