//! `ipc-bench report` in a real browser: the page of a small matrix opened
//! in headless Chromium (Debian's `chromium`), with no network at all: it
//! loads without a console message, has a row per case, sorts and filters
//! (through the view its address names, as a reader's link would), and is
//! photographed at a laptop's and a phone's width.
//!
//! Without Chromium the test says so and passes, unless
//! `IPC_BENCH_REQUIRE_BROWSER` is set, as CI sets it (and installs
//! Chromium first).

mod common;

use common::{cmd, IPC_BENCH};
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    let named = std::env::var_os("CHROMIUM").map(PathBuf::from);
    let candidates = named.into_iter().chain(
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .iter()
            .map(PathBuf::from),
    );
    candidates.into_iter().find(|p| p.is_file())
}

/// Runs Chromium headless on `url` with `extra` flags: its stdout (the DOM
/// with `--dump-dom`) and stderr (its log, console messages included).
fn browse(browser: &Path, profile: &Path, url: &str, extra: &[&str]) -> (String, String) {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            // No name resolves: a request for anything but the file fails.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The rows of the ranked table in a dumped DOM: whether each is hidden,
/// and its cells' sort values.
fn rows(dom: &str) -> Vec<(bool, Vec<String>)> {
    // Each case's row holds a table of its rounds: rows are found by class.
    let table = dom.split("id=\"ranked\"").nth(1).expect("the ranked table");
    table
        .split("<tr class=\"case\"")
        .skip(1)
        .map(|row| {
            let tag = row.split('>').next().unwrap_or("");
            let cells = row
                .split("data-sort=\"")
                .skip(1)
                .map(|c| c.split('"').next().unwrap_or("").to_string())
                .collect();
            (tag.contains("hidden"), cells)
        })
        .collect()
}

/// The index of the column headed `name`.
fn column(dom: &str, name: &str) -> usize {
    let head = dom.split("<thead>").nth(1).expect("a thead");
    let head = head.split("</thead>").next().unwrap();
    head.split("<th")
        .skip(1)
        .position(|th| th.split('>').nth(1).is_some_and(|t| t.starts_with(name)))
        .unwrap_or_else(|| panic!("no column {name} in {head}"))
}

fn console_messages(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

#[test]
fn the_report_of_a_small_matrix_works_in_a_browser() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("IPC_BENCH_REQUIRE_BROWSER").is_none(),
            "IPC_BENCH_REQUIRE_BROWSER is set but no chromium was found (apt-get install chromium)"
        );
        eprintln!("skipped: no chromium (apt-get install chromium to run this test)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    cmd(IPC_BENCH)
        .args(["matrix", "--transports", "spin,pipe", "--codecs", "json"])
        .args(["--complexities", "raw-string,structured", "--rounds", "2"])
        .args([
            "--duration",
            "0.05",
            "--warmup",
            "0.01",
            "--report",
            "--results-dir",
        ])
        .arg(&results)
        .assert()
        .success();
    assert!(
        results.join("report.html").is_file(),
        "matrix --report writes one"
    );
    let page = dir.path().join("report.html");
    cmd(IPC_BENCH)
        .arg("report")
        .arg(&results)
        .arg("--out")
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    for attribute in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(attribute), "the page loads {attribute}…");
    }
    let url = format!("file://{}", page.display());
    let profile = dir.path().join("profile");

    let (dom, log) = browse(&browser, &profile, &url, &["--dump-dom"]);
    assert!(dom.contains("data-ready=\"yes\""), "the script ran:\n{log}");
    assert_eq!(
        console_messages(&log),
        Vec::<&str>::new(),
        "console:\n{log}"
    );
    let cases = rows(&dom);
    assert_eq!(cases.len(), 4, "a row per case");

    let rate = column(&dom, "Round trips/s");
    let (dom, log) = browse(
        &browser,
        &profile,
        &format!("{url}#sort=Round+trips%2Fs"),
        &["--dump-dom"],
    );
    assert_eq!(
        console_messages(&log),
        Vec::<&str>::new(),
        "console:\n{log}"
    );
    let rates: Vec<f64> = rows(&dom)
        .iter()
        .map(|(_, cells)| cells[rate].parse().unwrap())
        .collect();
    assert!(
        rates.windows(2).all(|w| w[0] <= w[1]),
        "sorted by round trips/s, slowest first: {rates:?}"
    );

    let transport = column(&dom, "Transport");
    let (dom, _) = browse(
        &browser,
        &profile,
        &format!("{url}#Transport=pipe"),
        &["--dump-dom"],
    );
    let shown: Vec<String> = rows(&dom)
        .into_iter()
        .filter(|(hidden, _)| !hidden)
        .map(|(_, cells)| cells[transport].clone())
        .collect();
    assert_eq!(shown, ["pipe", "pipe"], "the filter hides the others");

    for (name, size) in [("laptop", "1280,900"), ("phone", "390,844")] {
        let shot = dir.path().join(format!("{name}.png"));
        let (_, log) = browse(
            &browser,
            &profile,
            &url,
            &[
                &format!("--window-size={size}"),
                &format!("--screenshot={}", shot.display()),
            ],
        );
        let bytes = std::fs::metadata(&shot).map_or(0, |m| m.len());
        assert!(
            bytes > 10_000,
            "a {name} screenshot ({bytes} bytes):\n{log}"
        );
    }
    if let Some(keep) = std::env::var_os("IPC_BENCH_KEEP_SCREENSHOTS") {
        for name in ["laptop", "phone"] {
            let from = dir.path().join(format!("{name}.png"));
            let _ = std::fs::copy(&from, Path::new(&keep).join(format!("report-{name}.png")));
        }
    }
}

/// A directory the page cannot be made of: a usage error naming it, and
/// nothing written.
#[test]
fn report_refuses_an_empty_or_corrupt_directory_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let corrupt = dir.path().join("corrupt");
    std::fs::create_dir(&corrupt).unwrap();
    std::fs::write(corrupt.join("spin-json-structured.json"), "{ not json").unwrap();
    for input in [&empty, &corrupt, &dir.path().join("missing")] {
        let out = cmd(IPC_BENCH).arg("report").arg(input).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("for DIR") && stderr.lines().count() == 1,
            "{stderr}"
        );
        assert!(!input.join("report.html").exists());
    }
    let left: Vec<_> = std::fs::read_dir(&corrupt).unwrap().collect();
    assert_eq!(left.len(), 1, "only the corrupt file: {left:?}");
}
