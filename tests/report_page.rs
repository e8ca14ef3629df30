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
/// with `--dump-dom`) and stderr (its log, console messages included). A
/// browser that has not finished within a minute is killed and the test
/// fails, rather than hang.
fn browse(browser: &Path, profile: &Path, url: &str, extra: &[&str]) -> (String, String) {
    let outputs = tempfile::tempdir().unwrap();
    let (stdout, stderr) = (outputs.path().join("out"), outputs.path().join("err"));
    let mut child = Command::new(browser)
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
            // A screenshot of a page wholly drawn, even on a busy machine.
            "--run-all-compositor-stages-before-draw",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("chromium runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish {url} within 60 s:\n{}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let read = |path: &Path| String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
    (read(&stdout), read(&stderr))
}

/// The rows of the ranked table in a dumped DOM: whether each is hidden,
/// and its cells' sort values.
fn rows(dom: &str) -> Vec<(bool, Vec<String>)> {
    // Each case's row holds a table of its rounds: rows are found by class,
    // up to the next section (the fan-outs' rows have the class too).
    let table = dom.split("id=\"ranked\"").nth(1).expect("the ranked table");
    let table = table.split("<h2").next().unwrap_or(table);
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

/// The requests a page made, from Chromium's network log: those on the
/// page's behalf (its site is the file's) for anything but a file or data.
/// Chromium's own background requests belong to no page and are left out.
fn page_requests(netlog: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(netlog).expect("chromium wrote its network log");
    let log: serde_json::Value = serde_json::from_str(&text).expect("a whole network log");
    let events = log["events"].as_array().expect("network events");
    let mut urls: Vec<String> = events
        .iter()
        .filter_map(|event| {
            let params = &event["params"];
            let url = params["url"].as_str()?;
            let site = |key: &str| params[key].as_str().unwrap_or("").to_string();
            let for_the_file = site("site_for_cookies").contains("site=file://")
                || site("network_isolation_key").starts_with("file://");
            let elsewhere = !url.starts_with("file:") && !url.starts_with("data:");
            (for_the_file && elsewhere).then(|| url.to_string())
        })
        .collect();
    urls.sort();
    urls.dedup();
    urls
}

/// A codecs report of one small case, in `dir`.
fn tiny_codecs_report(dir: &Path) {
    cmd(IPC_BENCH)
        .args(["codecs", "--codecs", "json", "--complexities", "structured"])
        .args([
            "--payload-bytes",
            "32",
            "--rounds",
            "2",
            "--budget",
            "0.002",
        ])
        .arg("--results-dir")
        .arg(dir)
        .assert()
        .success();
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
    let profile = dir.path().join("profile");
    let netlog = dir.path().join("netlog.json");
    let netlog_flag = format!("--log-net-log={}", netlog.display());

    // The checks must see a request and a script error when a page has
    // them.
    let probe = dir.path().join("probe.html");
    std::fs::write(
        &probe,
        "<!DOCTYPE html><p>probe</p><img src=\"http://ipc-bench.invalid/a.png\">\
         <script>noSuchFunction();</script>",
    )
    .unwrap();
    let (_, log) = browse(
        &browser,
        &profile,
        &format!("file://{}", probe.display()),
        &["--dump-dom", &netlog_flag],
    );
    assert_eq!(
        page_requests(&netlog),
        ["http://ipc-bench.invalid/a.png"],
        "the network log shows a page's request"
    );
    assert_eq!(console_messages(&log).len(), 1, "the error in:\n{log}");

    // Four closed loops (the ranked table), a fan-out and the codecs alone
    // (tables of their own).
    let results = dir.path().join("results");
    let short = ["--rounds", "2", "--duration", "0.05", "--warmup", "0.01"];
    cmd(IPC_BENCH)
        .args(["matrix", "--transports", "spin,pipe", "--codecs", "json"])
        .args([
            "--complexities",
            "raw-string,structured",
            "--precision",
            "0",
        ])
        .args(short)
        .arg("--report")
        .arg("--results-dir")
        .arg(&results)
        .assert()
        .success();
    assert!(
        results.join("report.html").is_file(),
        "matrix --report writes one"
    );
    cmd(IPC_BENCH)
        .args([
            "run",
            "--transport",
            "pipe",
            "--codec",
            "json",
            "--children",
            "2",
        ])
        .args(["--precision", "0"])
        .args(short)
        .arg("--results-dir")
        .arg(&results)
        .assert()
        .success();
    tiny_codecs_report(&results);
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

    let (dom, log) = browse(&browser, &profile, &url, &["--dump-dom", &netlog_flag]);
    assert!(dom.contains("data-ready=\"yes\""), "the script ran:\n{log}");
    assert_eq!(
        console_messages(&log),
        Vec::<&str>::new(),
        "console:\n{log}"
    );
    assert_eq!(
        page_requests(&netlog),
        Vec::<String>::new(),
        "the page asks the network for nothing"
    );
    let cases = rows(&dom);
    assert_eq!(cases.len(), 4, "a row per closed loop");
    for section in ["<h2>Fan-outs</h2>", "<h2>The codecs alone</h2>"] {
        assert!(dom.contains(section), "{section} in the page");
    }
    let fan_outs = dom.split("<h2>Fan-outs</h2>").nth(1).unwrap();
    let fan_outs = fan_outs.split("<h2").next().unwrap();
    assert_eq!(
        fan_outs.matches("<tr class=\"case\"><td").count(),
        1,
        "the fan-out's row: {fan_outs}"
    );
    assert!(fan_outs.contains("<details>"), "opens its details");

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

    // Two sets: the second's page with the comparison.
    let against = dir.path().join("against.html");
    cmd(IPC_BENCH)
        .arg("report")
        .arg(&results)
        .arg(&results)
        .arg("--out")
        .arg(&against)
        .assert()
        .success();
    let (dom, log) = browse(
        &browser,
        &profile,
        &format!("file://{}", against.display()),
        &["--dump-dom"],
    );
    assert_eq!(
        console_messages(&log),
        Vec::<&str>::new(),
        "console:\n{log}"
    );
    let comparison = dom
        .split("<h2>Against the first set</h2>")
        .nth(1)
        .expect("the comparison in the page");
    let verdicts = comparison.matches(">no change</td>").count();
    assert_eq!(verdicts, 5, "a set against itself: {comparison}");

    // A laptop's screen, and a phone's width two screens tall: down to the
    // ranking, the part that must stay usable when narrow.
    for (name, size) in [("laptop", "1280,900"), ("phone", "390,1688")] {
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

/// A directory holding only a codecs report (`ipc-bench codecs`) has a page
/// of its own; a corrupt one is refused like a corrupt result, and a
/// comparison needs results on both sides.
#[test]
fn a_codecs_report_alone_makes_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let codecs = dir.path().join("codecs");
    tiny_codecs_report(&codecs);
    cmd(IPC_BENCH).arg("report").arg(&codecs).assert().success();
    let page = std::fs::read_to_string(codecs.join("report.html")).unwrap();
    assert!(page.contains("<h2>The codecs alone</h2>"), "{page}");
    assert!(
        page.contains("<figcaption>codecs</figcaption>"),
        "its chart"
    );
    assert!(!page.contains(">Ranked</h2>"), "no ranking without results");

    let out = cmd(IPC_BENCH)
        .arg("report")
        .arg(&codecs)
        .arg(&codecs)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("for AGAINST"), "{stderr}");

    let corrupt = dir.path().join("corrupt");
    std::fs::create_dir(&corrupt).unwrap();
    std::fs::write(corrupt.join("codecs.json"), "{\"schema_version\": 1").unwrap();
    let out = cmd(IPC_BENCH).arg("report").arg(&corrupt).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("for DIR"), "{stderr}");
    assert!(!corrupt.join("report.html").exists());
}

/// The bare command, the README's first, writes the page of its matrix.
#[test]
fn the_bare_command_writes_its_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd(IPC_BENCH)
        .args(["--transports", "pipe", "--codecs", "json", "--complexities"])
        .args(["structured", "--rounds", "2", "--duration", "0.05"])
        .args(["--warmup", "0.01", "--precision", "0", "--results-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let page = dir.path().join("report.html");
    assert!(
        stderr.contains(&format!("report: {}", page.display())),
        "{stderr}"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("<tr class=\"case\">").count(), 1, "{html}");
}

/// A `report.html` the tool did not write is never replaced: the page is
/// refused with a message naming it, and the file keeps its bytes. A page
/// it wrote is replaced.
#[test]
fn a_users_own_report_html_survives() {
    let dir = tempfile::tempdir().unwrap();
    tiny_codecs_report(dir.path());
    let page = dir.path().join("report.html");
    std::fs::write(&page, "<html>my own notes</html>").unwrap();
    let out = cmd(IPC_BENCH)
        .arg("report")
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("not a page ipc-bench wrote"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&page).unwrap(),
        "<html>my own notes</html>"
    );
    std::fs::remove_file(&page).unwrap();
    for _ in 0..2 {
        cmd(IPC_BENCH)
            .arg("report")
            .arg(dir.path())
            .assert()
            .success();
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "no temporary file left: {left:?}");
}
