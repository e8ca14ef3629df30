//! A trading service's order, measured over every transport and codec.
//! Replace `Order` with your own type (or `use` it from your crate) and the
//! samples with a few real values: every message sent is one of them.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Side {
    Buy,
    Sell,
    Cancel { reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Account {
    name: String,
    tier: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Order {
    id: u64,
    symbol: String,
    side: Side,
    limit: Option<f64>,
    fills: Vec<f64>,
    account: Account,
}

fn main() -> std::process::ExitCode {
    let orders = (0..12u64).map(|i| Order {
        id: 1000 + i,
        symbol: ["AAPL", "MSFT", "NVDA"][i as usize % 3].to_string(),
        side: match i % 3 {
            0 => Side::Buy,
            1 => Side::Sell,
            _ => Side::Cancel { reason: format!("timeout after {i} s") },
        },
        limit: (i % 2 == 0).then(|| 101.25 + i as f64),
        fills: (0..i).map(|f| 100.0 + f as f64 * 0.5).collect(),
        account: Account { name: format!("desk-{}", i % 4), tier: (i % 5) as u8 },
    });
    ipc_bench::OwnMessages::new("order", orders).main()
}
