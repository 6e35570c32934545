//! The intake's HTML: a static form and the status page.
//!
//! Report text is attacker-controlled, so every value goes through
//! [`escape`] and nothing from a report is ever placed in an attribute,
//! a URL or a script; pages are also served with a `default-src 'none'`
//! Content-Security-Policy, so even an escaping mistake could not run
//! script.

use crate::report::{HistoryEntry, Report};
use crate::sla::SlaStatus;
use crate::time::rfc3339;

/// Escapes `text` for HTML element content and quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

const HEAD: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width\"><meta name=\"referrer\" content=\"no-referrer\">";

/// The report form; `action` is the configured intake path (from config,
/// checked to hold only unreserved characters, escaped anyway).
pub(crate) fn form(action: &str) -> String {
    format!(
        "{HEAD}<title>Report a vulnerability</title></head><body>\n\
<h1>Report a vulnerability</h1>\n\
<p>Reports are stored as plain text. You will get a private status link.</p>\n\
<form method=\"post\" action=\"{}\" enctype=\"application/x-www-form-urlencoded\">\n\
<p><label>Title<br><input name=\"title\" required maxlength=\"200\"></label></p>\n\
<p><label>Description and steps to reproduce<br><textarea name=\"description\" required rows=\"12\" cols=\"80\"></textarea></label></p>\n\
<p><label>Affected endpoint or operation (optional)<br><input name=\"endpoint\" maxlength=\"500\"></label></p>\n\
<p><label>Your email (optional)<br><input name=\"contact\" type=\"email\" maxlength=\"254\"></label></p>\n\
<p><button type=\"submit\">Send report</button></p>\n\
</form></body></html>\n",
        escape(action)
    )
}

/// The page shown after a form submission: the status link, once.
pub(crate) fn filed(id: i64, status_url: &str) -> String {
    format!(
        "{HEAD}<title>Report received</title></head><body>\n\
<h1>Report #{id} received</h1>\n\
<p>Keep this private link: it is the only way to follow your report, and it cannot be shown again.</p>\n\
<p><code>{}</code></p>\n</body></html>\n",
        escape(status_url)
    )
}

/// The status page: the report as submitted, its state, the SLA clock and
/// each step, every value escaped.
pub(crate) fn status(report: &Report, history: &[HistoryEntry], sla: &SlaStatus) -> String {
    let mut steps = String::new();
    for entry in history {
        steps.push_str(&format!(
            "<li><time>{}</time> <strong>{}</strong>{}</li>\n",
            escape(&rfc3339(entry.at_ms)),
            escape(entry.to.as_str()),
            entry
                .note
                .as_deref()
                .map(|n| format!(": {}", escape(n)))
                .unwrap_or_default()
        ));
    }
    let optional = |label: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| format!("<p>{label}: {}</p>\n", escape(v)))
            .unwrap_or_default()
    };
    format!(
        "{HEAD}<title>Report #{id}</title></head><body>\n\
<h1>Report #{id}: {title}</h1>\n\
<p>State: <strong id=\"state\">{state}</strong></p>\n\
<p>Received {received}; target date {deadline}{overdue}</p>\n\
{endpoint}<h2>Description</h2>\n<pre>{description}</pre>\n\
<h2>Steps</h2>\n<ol id=\"steps\">\n{steps}</ol>\n</body></html>\n",
        id = report.id,
        title = escape(&report.submitted.title),
        state = escape(report.state.as_str()),
        received = escape(&rfc3339(report.received_ms)),
        deadline = escape(&rfc3339(sla.deadline_ms)),
        overdue = if sla.overdue { " (overdue)" } else { "" },
        endpoint = optional("Affected endpoint", &report.submitted.endpoint),
        description = escape(&report.submitted.description),
    )
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }
}
