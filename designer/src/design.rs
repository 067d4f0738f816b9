//! PURE: what the designer set, and what it gives back — the `<milogin-button>` snippet to paste
//! (exactly the attributes that differ from the element's defaults) and the `display_name` line
//! for the server's configuration. Native tests below.
//!
//! Width is not an attribute of the element: the host page sizes it with CSS (README, "Looks"),
//! so the snippet carries it as the element's `style`.

/// One choice of a select control: the attribute value, and whether it is the element's default
/// (a default is never written into the snippet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    /// The attribute's value.
    pub value: &'static str,
    /// What the control shows.
    pub label: &'static str,
}

/// A select control: the attribute it sets and its choices; the first choice is the default.
#[derive(Debug, Clone, Copy)]
pub struct Control {
    /// The attribute (and the control's `name`).
    pub attribute: &'static str,
    /// The choices, the element's default first.
    pub choices: &'static [Choice],
}

const fn c(value: &'static str, label: &'static str) -> Choice {
    Choice { value, label }
}

/// `theme`: light (default), dark, brand.
pub const THEME: Control = Control {
    attribute: "theme",
    choices: &[
        c("light", "light (default)"),
        c("dark", "dark"),
        c("brand", "brand (Xiaomi orange)"),
    ],
};
/// `size`: 32 / 40 / 48 px high.
pub const SIZE: Control = Control {
    attribute: "size",
    choices: &[
        c("medium", "medium, 40 px (default)"),
        c("small", "small, 32 px"),
        c("large", "large, 48 px"),
    ],
};
/// `shape`.
pub const SHAPE: Control = Control {
    attribute: "shape",
    choices: &[
        c("rect", "rect (default)"),
        c("pill", "pill"),
        c("icon", "icon (the mark only)"),
    ],
};
/// `locale`: unset follows the page's `<html lang>`.
pub const LOCALE: Control = Control {
    attribute: "locale",
    choices: &[
        c("", "the page's language (default)"),
        c("en", "en"),
        c("zh-CN", "zh-CN"),
    ],
};
/// `mode`.
pub const MODE: Control = Control {
    attribute: "mode",
    choices: &[c("popup", "popup (default)"), c("redirect", "redirect")],
};

/// Every select control, in the order of the form and of the snippet's attributes.
pub const CONTROLS: [Control; 5] = [THEME, SIZE, SHAPE, LOCALE, MODE];

/// Everything the designer set. Select values are attribute values (`""` or the first choice:
/// the default); texts are as typed (trimmed when used).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Design {
    /// `pool` (required by the element).
    pub pool: String,
    /// `app` (required).
    pub app: String,
    /// `connection` (required).
    pub connection: String,
    /// The English display name; empty: the server's (or the default) label.
    pub name_en: String,
    /// The Chinese display name; empty: the server's (or the default) label.
    pub name_zh: String,
    /// `theme`, `size`, `shape`, `locale`, `mode`, in [`CONTROLS`] order.
    pub choices: [String; 5],
    /// Width in CSS pixels; `None`: as wide as its label.
    pub width: Option<u32>,
}

/// Widths a designer may ask for, CSS pixels.
pub const WIDTHS: std::ops::RangeInclusive<u32> = 40..=800;

/// Parses the width field: empty is `Ok(None)`; otherwise whole pixels in [`WIDTHS`].
pub fn parse_width(text: &str) -> Result<Option<u32>, String> {
    let t = text.trim().trim_end_matches("px").trim_end();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<u32>() {
        Ok(w) if WIDTHS.contains(&w) => Ok(Some(w)),
        _ => Err(format!(
            "width: {text:?} is not a width: write whole pixels from {} to {}, or leave it empty for a button as wide as its label",
            WIDTHS.start(),
            WIDTHS.end()
        )),
    }
}

impl Design {
    /// The value of `control` when it is not the default.
    pub fn set(&self, control: &Control) -> Option<&str> {
        let i = CONTROLS
            .iter()
            .position(|c| c.attribute == control.attribute)?;
        let v = self.choices[i].trim();
        let default = control.choices.first().map_or("", |c| c.value);
        (!v.is_empty() && v != default).then_some(v)
    }

    /// The display name for one language (`zh…` → Chinese, anything else → English), if typed.
    pub fn name_for(&self, locale: &str) -> Option<&str> {
        let name = if locale.starts_with("zh") {
            &self.name_zh
        } else {
            &self.name_en
        };
        Some(name.trim()).filter(|n| !n.is_empty())
    }

    /// The snippet's `(attribute, value)` pairs: the required ids, then only what differs from
    /// the defaults. `display-name` is the name in the snippet's `locale` (English without one).
    pub fn attributes(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("pool", self.pool.trim().to_owned()),
            ("app", self.app.trim().to_owned()),
            ("connection", self.connection.trim().to_owned()),
        ];
        let locale = self.set(&LOCALE).unwrap_or("en");
        if let Some(name) = self.name_for(locale) {
            out.push(("display-name", name.to_owned()));
        }
        for control in &CONTROLS {
            if let Some(v) = self.set(control) {
                out.push((control.attribute, v.to_owned()));
            }
        }
        if let Some(w) = self.width {
            out.push(("width", w.to_string()));
        }
        out
    }

    /// The HTML to paste: the loader from `server` (the login server's origin) and the element.
    /// Without a `locale`, a Chinese name the element cannot show on the same page is given as a
    /// comment for the site's Chinese pages.
    pub fn snippet(&self, server: &str) -> String {
        let mut html = format!(
            "<script type=\"module\" src=\"{}/widget/milogin.js\"></script>\n<milogin-button",
            escape_attr(server)
        );
        for (name, value) in self.attributes() {
            html.push_str(&format!(" {name}=\"{}\"", escape_attr(&value)));
        }
        html.push_str("></milogin-button>");
        if let (None, Some(zh)) = (self.set(&LOCALE), self.name_for("zh-CN")) {
            // Escaped, so the name holds no `<` or `>`: it cannot end or nest the comment.
            html.push_str(&format!(
                "\n<!-- on your pages in Chinese: display-name=\"{}\" -->",
                escape_attr(zh)
            ));
        }
        html
    }

    /// The `display_name` line for the connection's table in the server's configuration (the
    /// names served to every button without `display-name`), or `None` when no name is typed.
    pub fn config_lines(&self) -> Option<String> {
        let mut names = Vec::new();
        if let Some(en) = self.name_for("en") {
            names.push(format!("en = {}", toml_string(en)));
        }
        if let Some(zh) = self.name_for("zh-CN") {
            names.push(format!("zh-CN = {}", toml_string(zh)));
        }
        if names.is_empty() {
            return None;
        }
        let conn = self.connection.trim();
        let pool = self.pool.trim();
        let place = match (conn.is_empty(), pool.is_empty()) {
            (false, false) => format!(
                "# in the [[pools.connections]] table with unique_id = {} of pool {}:\n",
                toml_string(conn),
                toml_string(pool)
            ),
            _ => "# in the connection's [[pools.connections]] table:\n".to_owned(),
        };
        Some(format!("{place}display_name = {{ {} }}", names.join(", ")))
    }
}

/// Escapes text for a double-quoted HTML attribute value.
pub fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(ch),
        }
    }
    out
}

/// A TOML basic string: quotes, backslashes and control characters escaped.
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Design {
        Design {
            pool: "demo-pool".into(),
            app: "demo-app".into(),
            connection: "xiaomi".into(),
            ..Design::default()
        }
    }

    const LOADER: &str =
        "<script type=\"module\" src=\"https://login.example.com/widget/milogin.js\"></script>\n";

    #[test]
    fn defaults_give_the_ids_only() {
        let mut d = ids();
        assert_eq!(
            d.snippet("https://login.example.com"),
            format!("{LOADER}<milogin-button pool=\"demo-pool\" app=\"demo-app\" connection=\"xiaomi\"></milogin-button>")
        );
        // The default chosen explicitly is still a default.
        d.choices = ["light", "medium", "rect", "", "popup"].map(String::from);
        assert_eq!(d.attributes().len(), 3, "{:?}", d.attributes());
        assert_eq!(d.config_lines(), None);
    }

    #[test]
    fn every_attribute_set_is_written_in_order() {
        let mut d = ids();
        d.name_en = "  Acme sign-in ".into();
        d.choices = ["dark", "large", "pill", "en", "redirect"].map(String::from);
        d.width = Some(240);
        assert_eq!(
            d.snippet("https://login.example.com"),
            format!("{LOADER}<milogin-button pool=\"demo-pool\" app=\"demo-app\" connection=\"xiaomi\" display-name=\"Acme sign-in\" theme=\"dark\" size=\"large\" shape=\"pill\" locale=\"en\" mode=\"redirect\" width=\"240\"></milogin-button>")
        );
    }

    #[test]
    fn the_display_name_follows_the_locale() {
        let mut d = ids();
        d.name_en = "Acme".into();
        d.name_zh = "小米登录".into();
        d.choices[3] = "zh-CN".into();
        let attrs = d.attributes();
        assert!(
            attrs.contains(&("display-name", "小米登录".into())),
            "{attrs:?}"
        );
        assert!(!d.snippet("s").contains("<!--"));
        // Without a locale: the English name, and the Chinese one as a note for Chinese pages.
        d.choices[3] = String::new();
        let s = d.snippet("s");
        assert!(s.contains(" display-name=\"Acme\""), "{s}");
        assert!(
            s.ends_with("\n<!-- on your pages in Chinese: display-name=\"小米登录\" -->"),
            "{s}"
        );
        // A Chinese name only, no locale: nothing on the element, the note for Chinese pages.
        d.name_en.clear();
        let s = d.snippet("s");
        assert!(
            s.contains(" connection=\"xiaomi\"></milogin-button>\n<!-- on your pages in Chinese"),
            "{s}"
        );
    }

    #[test]
    fn values_are_escaped_for_html_and_toml() {
        let mut d = ids();
        d.name_en = r#"<b>"Tom" & 'Jerry'</b> --> \ "#.into();
        let s = d.snippet("https://x.example");
        assert!(
            s.contains(
                r#" display-name="&lt;b&gt;&quot;Tom&quot; &amp; 'Jerry'&lt;/b&gt; --&gt; \""#
            ),
            "{s}"
        );
        assert_eq!(
            s.matches('<').count(),
            4,
            "only the snippet's own tags: {s}"
        );
        d.name_zh = "--> 登录".into();
        let s = d.snippet("s");
        assert!(s.ends_with("display-name=\"--&gt; 登录\" -->"), "{s}");
        let toml = d.config_lines().unwrap();
        assert!(
            toml.ends_with(
                r#"display_name = { en = "<b>\"Tom\" & 'Jerry'</b> --> \\", zh-CN = "--> 登录" }"#
            ),
            "{toml}"
        );
        assert_eq!(toml_string("a\u{1}\nb"), r#""a\u0001\nb""#);
    }

    #[test]
    fn config_lines_name_the_table_and_only_the_typed_languages() {
        let mut d = ids();
        d.name_zh = "用小米登录".into();
        assert_eq!(
            d.config_lines().unwrap(),
            "# in the [[pools.connections]] table with unique_id = \"xiaomi\" of pool \"demo-pool\":\ndisplay_name = { zh-CN = \"用小米登录\" }"
        );
        d.connection.clear();
        assert!(d
            .config_lines()
            .unwrap()
            .starts_with("# in the connection's [[pools.connections]] table:\n"));
    }

    #[test]
    fn widths_are_whole_pixels_in_range() {
        assert_eq!(parse_width(""), Ok(None));
        assert_eq!(parse_width(" 240 "), Ok(Some(240)));
        assert_eq!(parse_width("240px"), Ok(Some(240)));
        for bad in ["12", "801", "2.5", "wide", "-40"] {
            let e = parse_width(bad).unwrap_err();
            assert!(e.starts_with("width: ") && e.contains("40 to 800"), "{e}");
        }
    }
}
