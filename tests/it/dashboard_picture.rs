//! The picture of each dashboard, opened in a real headless Chromium (Debian's
//! `chromium`): the browser parses the SVG, its screenshot is not blank, and every panel
//! title of the dashboard is in the picture.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{
    self,
    process::{code, poolwatch, stderr},
};
use crate::harness::CHROMIUM;
use poolwatch::conventions;

pub(crate) fn tests() -> Vec<crate::harness::Test> {
    crate::tests![
        [CHROMIUM] every_generated_dashboard_picture_shows_in_chromium,
        [CHROMIUM] a_hand_written_dashboard_gets_its_picture,
        a_hand_written_dashboard_that_is_not_json_writes_no_picture,
    ]
}

/// Runs Chromium headless on `url` with its own fresh profile, for at most a minute;
/// returns its standard output.
fn chromium(args: &[String], url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new("/usr/bin/chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("chromium did not finish within a minute on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    out
}

/// Every panel and row title of a dashboard's JSON, rows' own panels included.
fn titles(dashboard: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().unwrap() {
        out.push(p["title"].as_str().unwrap().to_string());
        for inner in p["panels"].as_array().into_iter().flatten() {
            out.push(inner["title"].as_str().unwrap().to_string());
        }
    }
    out
}

/// Opens a picture in Chromium and checks it: the browser reads it as SVG (no parser
/// error, every title in its DOM), the screenshot is the dashboard (its background at the
/// corner, panels and colours over much of it, the threshold red somewhere when a
/// threshold is red), and every title is a text of the SVG.
fn check_picture(svg_path: &Path, dashboard: &serde_json::Value, what: &str) {
    let svg = std::fs::read_to_string(svg_path).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{what}: {e}"));
    let root = doc.root_element();
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    // Collapsed rows keep their panels out of sight, as in Grafana.
    let collapsed = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["collapsed"] == true);
    for t in titles(dashboard) {
        assert!(
            collapsed
                || texts
                    .iter()
                    .any(|x| *x == t || x.ends_with(&format!(" {t}"))),
            "{what}: panel {t:?} is not in the picture"
        );
    }
    let url = format!("file://{}", svg_path.display());
    let dom = chromium(&["--dump-dom".to_string()], &url);
    assert!(
        !dom.contains("parsererror"),
        "{what}: chromium cannot parse it"
    );
    for t in titles(dashboard).iter().filter(|_| !collapsed) {
        let escaped = t
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(
            dom.contains(&escaped),
            "{what}: {t:?} not in chromium's DOM"
        );
    }
    let (w, h) = (
        root.attribute("width").unwrap(),
        root.attribute("height").unwrap(),
    );
    let shot = svg_path.with_extension("png");
    chromium(
        &[
            format!("--screenshot={}", shot.display()),
            format!("--window-size={w},{h}"),
        ],
        &url,
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels: Vec<[u8; 3]> = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    let background = [0x11, 0x12, 0x17];
    assert_eq!(
        pixels[0], background,
        "{what}: the corner is not the dashboard's background"
    );
    let drawn = pixels.iter().filter(|p| **p != background).count();
    assert!(
        drawn * 5 > pixels.len(),
        "{what}: only {drawn} of {} pixels drawn",
        pixels.len()
    );
    let distinct: std::collections::BTreeSet<[u8; 3]> = pixels.iter().copied().collect();
    assert!(distinct.len() > 20, "{what}: {} colours", distinct.len());
    let red_step = dashboard.to_string().contains("\"color\":\"red\"");
    if red_step && !collapsed {
        let red = [0xf2, 0x49, 0x5c];
        assert!(
            pixels
                .iter()
                .any(|p| p.iter().zip(red).all(|(a, b)| a.abs_diff(b) < 12)),
            "{what}: a red threshold step is not drawn"
        );
    }
}

fn every_generated_dashboard_picture_shows_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = 0;
    for (spec, source) in common::all_specs() {
        for (variant, g) in common::generate_all(&source) {
            let picture = g
                .files
                .iter()
                .find(|f| f.path.ends_with(&conventions::dashboard_svg_path()))
                .unwrap_or_else(|| panic!("{spec} {variant}: no picture beside the dashboard"));
            let path: PathBuf = dir.path().join(format!("{spec}-{variant}.svg"));
            std::fs::write(&path, &picture.contents).unwrap();
            let json = serde_json::to_value(&g.artifacts.dashboard).unwrap();
            check_picture(&path, &json, &format!("{spec} {variant}"));
            seen += 1;
        }
    }
    assert!(seen >= 8, "only {seen} dashboards");
}

fn a_hand_written_dashboard_gets_its_picture() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A dashboard as people write them: a row, a stat, a gauge in `percentunit`, a time
    // series with threshold areas.
    let dashboard = serde_json::json!({
        "title": "Orders & payments",
        "panels": [
            {"type": "row", "title": "Checkout", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}, "panels": []},
            {"type": "stat", "title": "Orders <per minute>", "gridPos": {"x": 0, "y": 1, "w": 8, "h": 6},
             "targets": [{"expr": "sum(rate(orders_total[$__rate_interval]))", "refId": "A"}]},
            {"type": "gauge", "title": "Pool in use", "gridPos": {"x": 8, "y": 1, "w": 8, "h": 6},
             "fieldConfig": {"defaults": {"unit": "percentunit", "min": 0, "max": 1,
               "thresholds": {"mode": "absolute", "steps": [
                 {"color": "green", "value": null}, {"color": "red", "value": 0.8}]}}}},
            {"type": "timeseries", "title": "Latency", "gridPos": {"x": 16, "y": 1, "w": 8, "h": 6},
             "fieldConfig": {"defaults": {"unit": "s", "custom": {"thresholdsStyle": {"mode": "area"}},
               "thresholds": {"mode": "absolute", "steps": [
                 {"color": "green", "value": null}, {"color": "#FF9830", "value": 0.5}]}}},
             "targets": [{"expr": "histogram_quantile(0.99, sum by (le) (rate(http_seconds_bucket[$__rate_interval])))", "legendFormat": "p99", "refId": "A"}]}
        ],
        "templating": {"list": [{"type": "query", "name": "job", "label": "Job", "includeAll": true}]}
    });
    std::fs::write(d.join("orders.json"), dashboard.to_string()).unwrap();
    let out = poolwatch(
        &["check", "--dashboards", "orders.json", "--svg", "pictures"],
        d,
    );
    assert!(code(&out) < 2, "{}", stderr(&out));
    let svg = d.join("pictures/orders.svg");
    check_picture(&svg, &dashboard, "orders.json");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains(">80%</text>"), "the gauge's step in its unit");
    assert!(
        text.contains("fill=\"#FF9830\" fill-opacity"),
        "the latency area in its colour"
    );
}

fn a_hand_written_dashboard_that_is_not_json_writes_no_picture() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("good.json"), r#"{"panels": []}"#).unwrap();
    std::fs::write(d.join("bad.json"), r#"{"panels": [}"#).unwrap();
    let out = poolwatch(
        &[
            "check",
            "--dashboards",
            "good.json",
            "bad.json",
            "--svg",
            "pictures",
        ],
        d,
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(!d.join("pictures").exists(), "a picture was written");
}
