//! The language of a page: English or Simplified Chinese, chosen from `Accept-Language` (its
//! `q` weights; English when neither is asked for). Every page the popup shows uses it.

use axum::http::HeaderMap;

/// The page's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// The preferred of English and Chinese in an `Accept-Language` value (English by default).
    pub fn from_accept_language(value: Option<&str>) -> Self {
        let mut best = (Self::En, 0.0_f32);
        for part in value.unwrap_or("").split(',').take(32) {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = if tag == "zh" || tag.starts_with("zh-") {
                Self::Zh
            } else if tag == "en" || tag.starts_with("en-") {
                Self::En
            } else {
                continue;
            };
            if q > best.1 {
                best = (lang, q);
            }
        }
        best.0
    }

    /// From the request's headers.
    pub fn from_headers(h: &HeaderMap) -> Self {
        Self::from_accept_language(
            h.get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        )
    }

    /// The `<html lang>` tag.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Zh => "zh-CN",
        }
    }

    /// `en` or `zh`: the text for this language.
    pub fn pick<T>(self, en: T, zh: T) -> T {
        match self {
            Self::En => en,
            Self::Zh => zh,
        }
    }
}
