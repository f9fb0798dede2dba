//! HTML for the admin console: escaping, the shared layout, small components and the charts.
//! Everything that reaches a page from data goes through [`esc`].

use std::fmt::Write;

use chrono::{DateTime, Utc};

/// Text made safe for HTML element content and double-quoted attribute values.
#[must_use]
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A query-string value.
#[must_use]
pub fn q(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[must_use]
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// An RFC 3339 time from the API's items, as the console shows times; HTML-escaped.
#[must_use]
pub fn iso(text: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(text)
        .map_or_else(|_| esc(text), |t| when(t.with_timezone(&Utc)))
}

/// The console's sections of one app, in tab order: (path segment, label).
const TABS: [(&str, &str); 6] = [
    ("", "Overview"),
    ("keys", "Keys"),
    ("users", "Users"),
    ("events", "Events"),
    ("reports", "Reports"),
    ("settings", "Sign-in settings"),
];

/// Where a page sits: the top-level section, and for an app's pages the app and its tab.
pub enum Place<'a> {
    Apps,
    Health,
    App(&'a str, &'a str),
    /// The sign-in page: no navigation.
    Outside,
}

/// The shared page: header with navigation, optional app tabs, a notice, then `body`.
#[must_use]
pub fn layout(
    title: &str,
    place: &Place<'_>,
    csrf: &str,
    notice: Option<&str>,
    body: &str,
) -> String {
    let mut html = String::with_capacity(body.len() + 2048);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · passkeyd console</title>\
         <link rel=\"stylesheet\" href=\"/console/static/console.css\">\
         <script src=\"/console/static/console.js\" defer></script></head><body>",
        esc(title)
    );
    html.push_str("<header class=\"top\"><div class=\"wrap top-inner\">");
    html.push_str(
        "<a class=\"brand\" href=\"/console/apps\"><span class=\"logo\" aria-hidden=\"true\">◆</span> passkeyd <span class=\"muted\">console</span></a>",
    );
    if !matches!(place, Place::Outside) {
        let on = |yes: bool| if yes { " class=\"on\"" } else { "" };
        let _ = write!(
            html,
            "<nav class=\"main\"><a href=\"/console/apps\"{}>Apps</a><a href=\"/console/health\"{}>Health</a></nav>\
             <form method=\"post\" action=\"/console/signout\" class=\"signout\">{}<button class=\"link\">Sign out</button></form>",
            on(matches!(place, Place::Apps | Place::App(..))),
            on(matches!(place, Place::Health)),
            csrf_field(csrf),
        );
    }
    html.push_str("</div></header><main class=\"wrap\">");
    if let Place::App(app_id, tab) = place {
        let _ = write!(
            html,
            "<div class=\"crumbs\"><a href=\"/console/apps\">Apps</a> / <strong>{}</strong></div><nav class=\"tabs\">",
            esc(app_id)
        );
        for (segment, label) in TABS {
            let href = if segment.is_empty() {
                format!("/console/apps/{}", q(app_id))
            } else {
                format!("/console/apps/{}/{segment}", q(app_id))
            };
            let class = if *tab == segment { " class=\"on\"" } else { "" };
            let _ = write!(html, "<a href=\"{href}\"{class}>{label}</a>");
        }
        html.push_str("</nav>");
    }
    if let Some(notice) = notice {
        let _ = write!(html, "<div class=\"notice ok\">{}</div>", esc(notice));
    }
    html.push_str(body);
    html.push_str("</main></body></html>");
    html
}

#[must_use]
pub fn csrf_field(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(csrf)
    )
}

/// A form of hidden fields and one button, posting to `action`.
#[must_use]
pub fn button_form(
    action: &str,
    csrf: &str,
    fields: &[(&str, &str)],
    label: &str,
    class: &str,
) -> String {
    let mut html = format!(
        "<form method=\"post\" action=\"{}\" class=\"inline\">{}",
        esc(action),
        csrf_field(csrf)
    );
    for (name, value) in fields {
        let _ = write!(
            html,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            esc(name),
            esc(value)
        );
    }
    let _ = write!(
        html,
        "<button class=\"{class}\">{}</button></form>",
        esc(label)
    );
    html
}

/// A link to the confirmation page of a destructive action.
#[must_use]
pub fn confirm_link(app_id: &str, fields: &[(&str, &str)], label: &str) -> String {
    let query: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", q(v)))
        .collect();
    format!(
        "<a class=\"btn danger small\" href=\"/console/apps/{}/confirm?{}\">{}</a>",
        q(app_id),
        esc(&query.join("&")),
        esc(label)
    )
}

#[must_use]
pub fn badge(text: &str, kind: &str) -> String {
    format!("<span class=\"badge {kind}\">{}</span>", esc(text))
}

/// A secret or key shown once, selectable, with a copy button.
#[must_use]
pub fn secret_box(label: &str, value: &str) -> String {
    format!(
        "<div class=\"secret\"><div class=\"secret-label\">{}</div><div class=\"secret-row\"><code class=\"select\">{}</code><button type=\"button\" class=\"btn small\" data-copy=\"{}\">Copy</button></div></div>",
        esc(label),
        esc(value),
        esc(value)
    )
}

/// One series of a chart: a label, a CSS class for its colour, and a value per day.
pub struct Series<'a> {
    pub label: &'a str,
    pub class: &'a str,
    pub values: Vec<i64>,
}

const CHART_W: f64 = 760.0;
const CHART_H: f64 = 220.0;
const PAD_L: f64 = 44.0;
const PAD_B: f64 = 26.0;
const PAD_T: f64 = 10.0;

/// A bar chart of `bars` with `lines` drawn over it, one point per day of `days`.
#[must_use]
pub fn chart(
    title: &str,
    days: &[String],
    bars: Option<&Series<'_>>,
    lines: &[Series<'_>],
) -> String {
    let n = days.len().max(1);
    let max = bars
        .iter()
        .flat_map(|s| s.values.iter())
        .chain(lines.iter().flat_map(|s| s.values.iter()))
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    // A round top for the scale: 1, 2 or 5 times a power of ten.
    let mut top = 1i64;
    while top < max {
        top = match top.to_string().as_bytes()[0] {
            b'1' => top * 2,
            b'2' => top / 2 * 5,
            _ => top * 2,
        };
    }
    #[allow(clippy::cast_precision_loss)]
    let (topf, nf) = (top as f64, n as f64);
    let plot_w = CHART_W - PAD_L - 8.0;
    let plot_h = CHART_H - PAD_T - PAD_B;
    let x = |i: usize| {
        #[allow(clippy::cast_precision_loss)]
        let i = i as f64;
        PAD_L + plot_w * (i + 0.5) / nf
    };
    #[allow(clippy::cast_precision_loss)]
    let y = |v: i64| PAD_T + plot_h * (1.0 - v as f64 / topf);
    let mut svg = format!(
        "<figure class=\"chart\"><figcaption>{}</figcaption><svg viewBox=\"0 0 {CHART_W} {CHART_H}\" role=\"img\" aria-label=\"{}\">",
        esc(title),
        esc(title)
    );
    for step in 0..=4 {
        let v = top * step / 4;
        let yy = y(v);
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{PAD_L}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\"/><text class=\"axis\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v}</text>",
            CHART_W - 8.0,
            PAD_L - 6.0,
            yy + 4.0
        );
    }
    if let Some(bars) = bars {
        let w = (plot_w / nf * 0.7).max(1.0);
        for (i, v) in bars.values.iter().enumerate() {
            let top_y = y(*v);
            let _ = write!(
                svg,
                "<rect class=\"{}\" x=\"{:.1}\" y=\"{top_y:.1}\" width=\"{w:.1}\" height=\"{:.1}\"><title>{}: {v}</title></rect>",
                esc(bars.class),
                x(i) - w / 2.0,
                (PAD_T + plot_h - top_y).max(0.0),
                esc(&days[i.min(days.len().saturating_sub(1))])
            );
        }
    }
    for line in lines {
        let points: Vec<String> = line
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            svg,
            "<polyline class=\"{}\" fill=\"none\" points=\"{}\"/>",
            esc(line.class),
            points.join(" ")
        );
    }
    // About six date labels along the bottom.
    let every = n.div_ceil(6).max(1);
    for (i, day) in days.iter().enumerate() {
        if i % every == 0 || i + 1 == n {
            let _ = write!(
                svg,
                "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x(i),
                CHART_H - 6.0,
                esc(day.get(5..).unwrap_or(day))
            );
        }
    }
    svg.push_str("</svg><div class=\"legend\">");
    for s in bars.into_iter().chain(lines.iter()) {
        let _ = write!(
            svg,
            "<span><i class=\"key {}\"></i>{}</span>",
            esc(s.class),
            esc(s.label)
        );
    }
    svg.push_str("</div></figure>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn charts_draw_every_day() {
        let days: Vec<String> = (1..=3).map(|d| format!("2026-01-0{d}")).collect();
        let bars = Series {
            label: "Passkeys",
            class: "bar",
            values: vec![1, 2, 3],
        };
        let svg = chart("t", &days, Some(&bars), &[]);
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(!svg.contains("style="));
    }
}
