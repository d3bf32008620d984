//! Markdown for incident updates and maintenance notes, rendered safely: raw HTML in the source
//! is shown as text, links keep only http, https, mailto and relative targets, and images
//! become links. What comes out is safe to embed in a page as is.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

/// Renders `source` to HTML that carries no script, no raw HTML and no dangerous URL.
pub fn render(source: &str) -> String {
    let options =
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(source, options).map(|event| match event {
        Event::Html(s) | Event::InlineHtml(s) => Event::Text(s),
        // An image becomes a link to it, so nothing is loaded from elsewhere.
        Event::Start(
            Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }
            | Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            },
        ) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::End(TagEnd::Image) => Event::End(TagEnd::Link),
        other => other,
    });
    let mut out = String::with_capacity(source.len() * 2);
    html::push_html(&mut out, events);
    out
}

fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let lower = url.trim().to_ascii_lowercase();
    let has_scheme = lower.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.contains('/') && !scheme.contains('?') && !scheme.contains('#')
    });
    let allowed = ["http:", "https:", "mailto:"]
        .iter()
        .any(|s| lower.starts_with(s));
    if has_scheme && !allowed {
        CowStr::Borrowed("#")
    } else {
        url
    }
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn raw_html_is_shown_as_text() {
        let out = render("Fixed <script>alert(1)</script> and <b>bold</b>");
        assert!(!out.contains("<script>"), "{out}");
        assert!(
            out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{out}"
        );
        assert!(!out.contains("<b>"), "{out}");
    }

    #[test]
    fn links_keep_safe_targets_only() {
        let out = render(
            "[ok](https://example.org) [rel](/incidents/1) [bad](javascript:alert(1)) [data](DATA:text/html,x)",
        );
        assert!(
            out.contains(r#"<a href="https://example.org">ok</a>"#),
            "{out}"
        );
        assert!(out.contains(r#"<a href="/incidents/1">rel</a>"#), "{out}");
        assert!(out.contains(r##"<a href="#">bad</a>"##), "{out}");
        assert!(out.contains(r##"<a href="#">data</a>"##), "{out}");
        assert!(!out.to_lowercase().contains("javascript:"), "{out}");
    }

    #[test]
    fn images_become_links_and_markdown_still_works() {
        let out = render("**Database** migration overran\n\n![graph](https://example.org/g.png)");
        assert!(out.contains("<strong>Database</strong>"), "{out}");
        assert!(!out.contains("<img"), "{out}");
        assert!(
            out.contains(r#"<a href="https://example.org/g.png">graph</a>"#),
            "{out}"
        );
    }
}
