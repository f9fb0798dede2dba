//! The console's pages: data from `service::console` in, a whole HTML page out.

use std::fmt::Write;

use super::view::{self, esc, q, when, Place, Series};
use crate::http::metrics::Figures;
use crate::service::console::{EventsView, Health, KeyView, PasskeyView, Reports, UserRow};
use crate::store::AppRecord;
use crate::wire::{AppFeaturesResponse, AuthConfigItem, AuthenticatorItem, CreateAppResponse};

/// An app's state as badges.
pub fn status_badges(app: &AppRecord) -> String {
    if app.delete_at.is_some() {
        view::badge("Deletion scheduled", "danger")
    } else if app.frozen {
        view::badge("Frozen", "warn")
    } else {
        view::badge("Active", "ok")
    }
}

pub fn apps(list: &[AppRecord], search: &str, csrf: &str, notice: Option<&str>) -> String {
    let mut body = format!(
        "<div class=\"page-head\"><h1>Apps</h1><form method=\"get\" class=\"search\"><input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"Search apps\" aria-label=\"Search apps\"><button class=\"btn\">Search</button></form></div>",
        esc(search)
    );
    if list.is_empty() {
        body.push_str("<div class=\"card empty\">No apps match.</div>");
    } else {
        body.push_str("<div class=\"card flush\"><table><thead><tr><th>App</th><th>Status</th><th>Event log</th><th>Allowed origins</th><th>Created</th></tr></thead><tbody>");
        for app in list {
            let _ = write!(
                body,
                "<tr><td><a class=\"strong\" href=\"/console/apps/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td class=\"muted\">{}</td></tr>",
                q(&app.id),
                esc(&app.id),
                status_badges(app),
                if app.features.event_logging_enabled { "On" } else { "Off" },
                app.features.allowed_origins.len(),
                when(app.created_at)
            );
        }
        body.push_str("</tbody></table></div>");
    }
    let _ = write!(
        body,
        "<section class=\"card\"><h2>Create an app</h2><form method=\"post\" action=\"/console/apps\" class=\"grid-form\">{}\
         <label>App id<input name=\"app_id\" required pattern=\"[a-z][a-z0-9]{{2,61}}\" placeholder=\"myapp\"><small>Lower-case letters and digits, starting with a letter.</small></label>\
         <label>Admin email<input name=\"admin_email\" type=\"email\" placeholder=\"you@example.com\"></label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"event_logging\" checked> Keep an event log</label>\
         <div><button class=\"btn primary\">Create app</button></div></form></section>",
        view::csrf_field(csrf)
    );
    view::layout("Apps", &Place::Apps, csrf, notice, &body)
}

pub fn app_created(app_id: &str, created: &CreateAppResponse, csrf: &str) -> String {
    let mut body = format!(
        "<section class=\"card\"><h1>App {} created</h1><div class=\"notice warn\">Store these keys now. The secrets are shown only this once; passkeyd keeps only a hash of them.</div>",
        esc(app_id)
    );
    body.push_str(&view::secret_box(
        "Public key 1 (browser, apiKey)",
        &created.api_key1,
    ));
    body.push_str(&view::secret_box("Public key 2", &created.api_key2));
    body.push_str(&view::secret_box(
        "Secret 1 (backend, apiSecret)",
        &created.api_secret1,
    ));
    body.push_str(&view::secret_box("Secret 2", &created.api_secret2));
    let _ = write!(
        body,
        "<p><a class=\"btn primary\" href=\"/console/apps/{}\">Continue to the app</a></p></section>",
        q(app_id)
    );
    view::layout("App created", &Place::Apps, csrf, None, &body)
}

pub fn overview(
    app_id: &str,
    app: &AppRecord,
    f: &AppFeaturesResponse,
    csrf: &str,
    notice: Option<&str>,
) -> String {
    let action = format!("/console/apps/{}/action", q(app_id));
    let mut body = String::from(
        "<div class=\"cols\"><section class=\"card\"><h2>Status</h2><dl class=\"facts\">",
    );
    let _ = write!(
        body,
        "<dt>Status</dt><dd>{}</dd><dt>Created</dt><dd>{}</dd><dt>Admin email</dt><dd>{}</dd>",
        status_badges(app),
        when(app.created_at),
        esc(app.admin_email.as_deref().unwrap_or("—"))
    );
    if let Some(at) = app.delete_at {
        let _ = write!(body, "<dt>Deleted on</dt><dd>{}</dd>", when(at));
    }
    body.push_str("</dl><div class=\"actions\">");
    if app.frozen {
        body.push_str(&view::button_form(
            &action,
            csrf,
            &[("action", "unfreeze")],
            "Unfreeze",
            "btn",
        ));
    } else {
        body.push_str(&view::confirm_link(
            app_id,
            &[("action", "freeze")],
            "Freeze",
        ));
    }
    if app.delete_at.is_some() {
        body.push_str(&view::button_form(
            &action,
            csrf,
            &[("action", "cancel-delete")],
            "Cancel deletion",
            "btn",
        ));
    } else {
        body.push_str(&view::confirm_link(
            app_id,
            &[("action", "mark-delete")],
            "Delete app",
        ));
    }
    body.push_str("</div></section>");
    let lines = |v: &[String]| esc(&v.join("\n"));
    let on = |b: bool| if b { " checked" } else { "" };
    let _ = write!(
        body,
        "<section class=\"card\"><h2>Features</h2><form method=\"post\" action=\"{}\" class=\"grid-form\">{}<input type=\"hidden\" name=\"action\" value=\"features\">\
         <label class=\"check\"><input type=\"checkbox\" name=\"event_logging\"{}> Event log</label>\
         <label>Event retention (days, 0–90)<input name=\"retention\" inputmode=\"numeric\" value=\"{}\"></label>\
         <label>Magic links per month<input name=\"magic_quota\" inputmode=\"numeric\" value=\"{}\"></label>\
         <label>Maximum users (empty: no limit)<input name=\"max_users\" inputmode=\"numeric\" value=\"{}\"></label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"allow_attestation\"{}> Attestation (needed for authenticator lists)</label>\
         <label>Allowed origins (one per line)<textarea name=\"allowed_origins\" rows=\"3\" placeholder=\"https://example.com\">{}</textarea></label>\
         <label>Allowed RP IDs (one per line)<textarea name=\"allowed_rp_ids\" rows=\"3\" placeholder=\"example.com\">{}</textarea></label>\
         <div><button class=\"btn primary\">Save features</button></div></form></section></div>",
        esc(&action),
        view::csrf_field(csrf),
        on(f.event_logging_is_enabled),
        f.event_logging_retention_period,
        f.magic_link_email_monthly_quota,
        f.max_users.map(|m| m.to_string()).unwrap_or_default(),
        on(f.allow_attestation),
        lines(&f.allowed_origins),
        lines(&f.allowed_rp_ids),
    );
    view::layout(app_id, &Place::App(app_id, ""), csrf, notice, &body)
}

pub fn keys(app_id: &str, list: &[KeyView], csrf: &str, notice: Option<&str>) -> String {
    let action = format!("/console/apps/{}/action", q(app_id));
    let mut body =
        String::from("<div class=\"page-head\"><h1>API keys</h1><div class=\"actions\">");
    body.push_str(&view::button_form(
        &action,
        csrf,
        &[("action", "create-public-key")],
        "New public key",
        "btn",
    ));
    body.push_str(&view::button_form(
        &action,
        csrf,
        &[("action", "create-secret-key")],
        "New secret",
        "btn primary",
    ));
    body.push_str("</div></div><div class=\"card flush\"><table><thead><tr><th>Key</th><th>Kind</th><th>Scopes</th><th>Created</th><th>Status</th><th></th></tr></thead><tbody>");
    for k in list {
        let lock = if k.locked {
            view::button_form(
                &action,
                csrf,
                &[("action", "unlock-key"), ("key", &k.id)],
                "Unlock",
                "btn small",
            )
        } else {
            view::confirm_link(app_id, &[("action", "lock-key"), ("key", &k.id)], "Lock")
        };
        let _ = write!(
            body,
            "<tr><td><code class=\"select\">{}</code></td><td>{}</td><td>{}</td><td class=\"muted when\">{}</td><td>{}</td><td class=\"row-actions\">{lock}{}</td></tr>",
            esc(&k.shown),
            if k.secret { "Secret" } else { "Public" },
            esc(&k.scopes.join(", ")),
            when(k.created_at),
            if k.locked { view::badge("Locked", "warn") } else { view::badge("Active", "ok") },
            view::confirm_link(app_id, &[("action", "delete-key"), ("key", &k.id)], "Delete"),
        );
    }
    body.push_str("</tbody></table></div><p class=\"muted\">A secret is stored only as a keyed hash: it is shown once, when it is created.</p>");
    view::layout("Keys", &Place::App(app_id, "keys"), csrf, notice, &body)
}

pub fn users(
    app_id: &str,
    search: &str,
    list: &[UserRow],
    csrf: &str,
    notice: Option<&str>,
) -> String {
    let mut body = format!(
        "<div class=\"page-head\"><h1>Users</h1><form method=\"get\" class=\"search\"><input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"User id or alias\" aria-label=\"User id or alias\"><button class=\"btn\">Find</button></form></div>",
        esc(search)
    );
    if list.is_empty() {
        body.push_str("<div class=\"card empty\">No user matches. Aliases are stored hashed, so an alias must be typed in full.</div>");
    } else {
        body.push_str("<div class=\"card flush\"><table><thead><tr><th>User id</th><th>Aliases</th><th>Passkeys</th><th>Last used</th></tr></thead><tbody>");
        for u in list {
            let _ = write!(
                body,
                "<tr><td><a class=\"strong\" href=\"/console/apps/{}/user?id={}\">{}</a></td><td>{}</td><td>{}</td><td class=\"muted\">{}</td></tr>",
                q(app_id),
                q(&u.user_id),
                esc(&u.user_id),
                esc(&u.aliases.join(", ")),
                u.credentials,
                u.last_used_at.map(when).unwrap_or_else(|| "—".into())
            );
        }
        body.push_str("</tbody></table></div>");
    }
    view::layout("Users", &Place::App(app_id, "users"), csrf, notice, &body)
}

pub fn user(
    app_id: &str,
    user_id: &str,
    list: &[PasskeyView],
    csrf: &str,
    notice: Option<&str>,
) -> String {
    let mut body = format!(
        "<div class=\"page-head\"><h1>User <code>{}</code></h1><div class=\"actions\">{}</div></div>",
        esc(user_id),
        view::confirm_link(app_id, &[("action", "delete-user"), ("user", user_id)], "Delete user")
    );
    if list.is_empty() {
        body.push_str("<div class=\"card empty\">This user has no passkeys.</div>");
    } else {
        body.push_str("<div class=\"card flush\"><table><thead><tr><th>Nickname</th><th>Authenticator</th><th>Kind</th><th>Created</th><th>Last used</th><th class=\"num\">Counter</th><th></th></tr></thead><tbody>");
        for k in list {
            let kind = match k.synced {
                Some(true) => view::badge("Synced", "info"),
                Some(false) => view::badge("Device-bound", "neutral"),
                None => view::badge("Unknown", "neutral"),
            };
            let authenticator = k
                .authenticator
                .clone()
                .or_else(|| k.device.clone())
                .unwrap_or_else(|| "Unknown".into());
            let _ = write!(
                body,
                "<tr class=\"passkey\"><td class=\"strong\">{}</td><td>{}<div class=\"muted small\">{}</div></td><td>{kind}</td><td class=\"muted when\">{}</td><td class=\"muted when\">{}</td><td class=\"num\">{}</td><td class=\"row-actions\">{}</td></tr>",
                esc(k.nickname.as_deref().unwrap_or("—")),
                esc(&authenticator),
                esc(k.aaguid.as_deref().unwrap_or("")),
                when(k.created_at),
                when(k.last_used_at),
                k.counter,
                view::confirm_link(
                    app_id,
                    &[("action", "delete-passkey"), ("user", user_id), ("credential", &k.id)],
                    "Delete"
                ),
            );
        }
        body.push_str("</tbody></table></div>");
    }
    view::layout("User", &Place::App(app_id, "users"), csrf, notice, &body)
}

pub fn reports(app_id: &str, days: i64, rep: &Reports, csrf: &str) -> String {
    let dates: Vec<String> = rep
        .credentials
        .iter()
        .map(|d| d.created_at.clone())
        .collect();
    let last_c = rep.credentials.last();
    let last_a = rep.active.last();
    let mut body = String::from("<div class=\"page-head\"><h1>Reports</h1><form method=\"get\" class=\"search\"><select name=\"days\" aria-label=\"Period\">");
    for (n, label) in [
        (30, "Last 30 days"),
        (90, "Last 90 days"),
        (365, "Last year"),
    ] {
        let sel = if n == days { " selected" } else { "" };
        let _ = write!(body, "<option value=\"{n}\"{sel}>{label}</option>");
    }
    body.push_str("</select><button class=\"btn\">Show</button></form></div><div class=\"stats\">");
    for (label, value) in [
        ("Passkeys", last_c.map_or(0, |c| c.credentials)),
        ("Users with a passkey", last_c.map_or(0, |c| c.users)),
        ("Active today", last_a.map_or(0, |a| a.daily_active_users)),
        (
            "Active this week",
            last_a.map_or(0, |a| a.weekly_active_users),
        ),
    ] {
        let _ = write!(body, "<div class=\"stat\"><div class=\"stat-value\">{value}</div><div class=\"stat-label\">{label}</div></div>");
    }
    body.push_str("</div><div class=\"card\">");
    let bars = Series {
        label: "Passkeys",
        class: "s1",
        values: rep.credentials.iter().map(|c| c.credentials).collect(),
    };
    let users_line = Series {
        label: "Users",
        class: "s2",
        values: rep.credentials.iter().map(|c| c.users).collect(),
    };
    body.push_str(&view::chart(
        "Passkeys and users over time",
        &dates,
        Some(&bars),
        &[users_line],
    ));
    body.push_str("</div><div class=\"card\">");
    let daily = Series {
        label: "Daily active",
        class: "s1",
        values: rep.active.iter().map(|a| a.daily_active_users).collect(),
    };
    let weekly = Series {
        label: "Weekly active",
        class: "s3",
        values: rep.active.iter().map(|a| a.weekly_active_users).collect(),
    };
    body.push_str(&view::chart(
        "Active users",
        &dates,
        Some(&daily),
        &[weekly],
    ));
    body.push_str("</div>");
    view::layout("Reports", &Place::App(app_id, "reports"), csrf, None, &body)
}

pub fn settings(
    app_id: &str,
    purposes: &[AuthConfigItem],
    lists: Option<(Vec<AuthenticatorItem>, Vec<AuthenticatorItem>)>,
    name_of: &dyn Fn(&str) -> Option<String>,
    csrf: &str,
    notice: Option<&str>,
) -> String {
    let action = format!("/console/apps/{}/action", q(app_id));
    let mut body = String::from("<h1>Sign-in settings</h1><section class=\"card flush\"><h2 class=\"pad\">Purposes</h2><table><thead><tr><th>Purpose</th><th>User verification</th><th>Token lifetime</th><th>Hints</th><th>Created by</th><th>Last used</th><th></th></tr></thead><tbody>");
    for c in purposes {
        let delete = if matches!(c.purpose.as_str(), "sign-in" | "step-up") {
            view::badge("Preset", "neutral")
        } else {
            view::confirm_link(
                app_id,
                &[("action", "delete-purpose"), ("purpose", &c.purpose)],
                "Delete",
            )
        };
        let _ = write!(
            body,
            "<tr><td class=\"strong\">{}</td><td>{}</td><td>{} s</td><td>{}</td><td>{}</td><td class=\"muted\">{}</td><td class=\"row-actions\">{delete}</td></tr>",
            esc(&c.purpose),
            esc(&c.user_verification_requirement),
            c.time_to_live,
            esc(&c.hints),
            esc(&c.created_by),
            c.last_used_on.as_deref().map_or_else(|| "—".to_owned(), view::iso),
        );
    }
    let _ = write!(
        body,
        "</tbody></table><form method=\"post\" action=\"{}\" class=\"row-form pad\">{}<input type=\"hidden\" name=\"action\" value=\"add-purpose\">\
         <label>Purpose<input name=\"purpose\" required placeholder=\"checkout\"></label>\
         <label>User verification<select name=\"uv\"><option>preferred</option><option>required</option><option>discouraged</option></select></label>\
         <label>Lifetime (seconds)<input name=\"ttl\" inputmode=\"numeric\" value=\"120\"></label>\
         <fieldset><legend>Hints</legend><label class=\"check\"><input type=\"checkbox\" name=\"hint\" value=\"security-key\"> Security key</label><label class=\"check\"><input type=\"checkbox\" name=\"hint\" value=\"client-device\"> This device</label><label class=\"check\"><input type=\"checkbox\" name=\"hint\" value=\"hybrid\"> Phone</label></fieldset>\
         <div><button class=\"btn primary\">Add purpose</button></div></form></section>",
        esc(&action),
        view::csrf_field(csrf)
    );
    body.push_str("<section class=\"card\"><h2>Authenticator allow- and block-list</h2>");
    match lists {
        None => body.push_str("<p class=\"muted\">The lists need attestation: turn on <em>Attestation</em> under Overview → Features.</p>"),
        Some((allowed, blocked)) => {
            for (title, list) in [("Allowed", &allowed), ("Blocked", &blocked)] {
                let _ = write!(body, "<h3>{title}</h3>");
                if list.is_empty() {
                    body.push_str("<p class=\"muted\">None.</p>");
                    continue;
                }
                body.push_str("<table><thead><tr><th>AAGUID</th><th>Authenticator</th><th>Added</th><th></th></tr></thead><tbody>");
                for a in list {
                    let _ = write!(
                        body,
                        "<tr><td><code>{}</code></td><td>{}</td><td class=\"muted\">{}</td><td class=\"row-actions\">{}</td></tr>",
                        esc(&a.aa_guid),
                        esc(&name_of(&a.aa_guid).unwrap_or_else(|| "—".into())),
                        view::iso(&a.created_at),
                        view::confirm_link(app_id, &[("action", "remove-authenticator"), ("aaguid", &a.aa_guid)], "Remove"),
                    );
                }
                body.push_str("</tbody></table>");
            }
            let _ = write!(
                body,
                "<form method=\"post\" action=\"{}\" class=\"row-form\">{}<input type=\"hidden\" name=\"action\" value=\"add-authenticator\">\
                 <label>AAGUID<input name=\"aaguid\" required placeholder=\"00000000-0000-0000-0000-000000000000\"></label>\
                 <label>List<select name=\"list\"><option value=\"allow\">Allow</option><option value=\"block\">Block</option></select></label>\
                 <div><button class=\"btn primary\">Add</button></div></form>",
                esc(&action),
                view::csrf_field(csrf)
            );
        }
    }
    body.push_str("</section>");
    view::layout(
        "Sign-in settings",
        &Place::App(app_id, "settings"),
        csrf,
        notice,
        &body,
    )
}

/// The event log, or a note that the app keeps none.
pub fn events(
    app_id: &str,
    kind: &str,
    text: &str,
    found: Option<&EventsView>,
    csrf: &str,
) -> String {
    let Some(found) = found else {
        let body = "<h1>Events</h1><div class=\"card empty\">This app does not keep an event log. Turn it on under Overview → Features.</div>";
        return view::layout("Events", &Place::App(app_id, "events"), csrf, None, body);
    };
    let mut body = String::from("<div class=\"page-head\"><h1>Events</h1><form method=\"get\" class=\"search\"><select name=\"type\" aria-label=\"Event type\"><option value=\"\">All types</option>");
    for t in &found.types {
        let sel = if *t == kind { " selected" } else { "" };
        let _ = write!(body, "<option{sel}>{}</option>", esc(t));
    }
    let _ = write!(
        body,
        "</select><input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"Text\" aria-label=\"Text\"><button class=\"btn\">Filter</button></form></div>",
        esc(text)
    );
    if found.events.is_empty() {
        body.push_str("<div class=\"card empty\">No events match.</div>");
    } else {
        body.push_str("<div class=\"card flush\"><table class=\"events\"><thead><tr><th>When</th><th>Type</th><th>Message</th><th>By</th><th>Subject</th></tr></thead><tbody>");
        for e in &found.events {
            let sev = if e.severity == "Alert" {
                view::badge("Alert", "warn")
            } else {
                String::new()
            };
            let _ = write!(
                body,
                "<tr><td class=\"muted nowrap\">{}</td><td><code>{}</code> {sev}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                view::iso(&e.performed_at),
                esc(&e.event_type),
                esc(&e.message),
                esc(&e.performed_by),
                esc(&e.subject),
            );
        }
        body.push_str("</tbody></table></div>");
    }
    view::layout("Events", &Place::App(app_id, "events"), csrf, None, &body)
}

pub fn health(h: &Health, f: Figures, csrf: &str) -> String {
    let storage = match &h.storage {
        Ok(d) => format!(
            "{} <span class=\"muted\">{} ms</span>",
            view::badge("Healthy", "ok"),
            d.as_millis()
        ),
        Err(e) => format!(
            "{} <span class=\"muted\">{}</span>",
            view::badge("Unhealthy", "danger"),
            esc(e)
        ),
    };
    let mut body = String::from("<h1>Health</h1><div class=\"stats\">");
    for (label, value) in [
        ("Apps", h.apps.to_string()),
        ("Pending deletion", h.pending_deletion.to_string()),
        ("Responses", f.responses.to_string()),
        ("Client errors (4xx)", f.client_errors.to_string()),
        ("Server errors (5xx)", f.server_errors.to_string()),
    ] {
        let _ = write!(body, "<div class=\"stat\"><div class=\"stat-value\">{value}</div><div class=\"stat-label\">{label}</div></div>");
    }
    let _ = write!(
        body,
        "</div><section class=\"card\"><dl class=\"facts\"><dt>Version</dt><dd>passkeyd {}</dd><dt>Storage</dt><dd>{storage}</dd><dt>Authenticator metadata</dt><dd>{}</dd><dt>Problem responses</dt><dd>{}</dd>",
        esc(h.version),
        h.metadata_entries.map_or_else(|| "Not configured".to_owned(), |n| format!("{n} models")),
        f.problems
    );
    for p in &h.pools {
        let _ = write!(
            body,
            "<dt>Pool {}</dt><dd>{} open, {} idle</dd>",
            esc(p.pool),
            p.size,
            p.idle
        );
    }
    body.push_str("</dl><p class=\"muted\">Counts since this process started; <a href=\"/metrics\">/metrics</a> has them all for Prometheus.</p></section>");
    view::layout("Health", &Place::Health, csrf, None, &body)
}
