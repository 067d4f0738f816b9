//! A connection (one identity source of a pool) as the rest of the server reads it: the
//! provider-neutral policy (login mode, association, field matching, button label) and the
//! provider's own settings, one [`ProviderSettings`] arm per kind. Nothing here imports the
//! other configuration modules: `model` holds connections, `pools` and `xiaomi` build them.

use crate::domain::UniqueId;
use secrecy::SecretString;
use serde::Deserialize;

/// Login mode of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginMode {
    /// Log in existing users and create new ones.
    LoginAndRegister,
    /// Log in existing users only; an unknown provider identity gets `user_not_found`.
    LoginOnly,
}

/// Account identity association of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Association {
    /// A new provider identity always gets a new user.
    Off,
    /// Match an existing user by field (email, phone).
    FieldMatch,
    /// The user proves ownership of an existing account.
    QueryBinding,
}

/// A field that `association = "field_match"` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchField {
    /// The provider's email against the user's email.
    Email,
    /// The provider's phone number against the user's phone.
    Phone,
}

impl MatchField {
    /// The key's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
        }
    }
}

/// The kinds of identity provider this server speaks to: a closed set, one arm per provider
/// module (`crate::provider::…`). A connection's `kind` key names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProviderKind {
    /// Xiaomi Account (`kind = "xiaomi"`, the default).
    Xiaomi,
}

impl ProviderKind {
    /// Every kind, in the order `milogin check` names them.
    pub const ALL: [Self; 1] = [Self::Xiaomi];

    /// The `kind` key's spelling (also the public connection list's `kind`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Xiaomi => "xiaomi",
        }
    }

    /// The kind a `kind` key names.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The button's label when the connection sets none: `(English, Simplified Chinese)`.
    pub const fn default_labels(self) -> (&'static str, &'static str) {
        match self {
            Self::Xiaomi => ("Sign in with Xiaomi", "使用小米账号登录"),
        }
    }
}

/// A connection's provider and that provider's own settings. Serialized as the file spells them
/// (`kind` and the provider's keys; secrets left out) for the experience-login page.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProviderSettings {
    /// `kind = "xiaomi"`.
    Xiaomi(XiaomiSettings),
}

impl ProviderSettings {
    /// The provider kind.
    pub const fn kind(&self) -> ProviderKind {
        match self {
            Self::Xiaomi(_) => ProviderKind::Xiaomi,
        }
    }

    /// The app id at the provider, recorded with each identity (`identities.client_id`).
    pub fn client_id(&self) -> &str {
        match self {
            Self::Xiaomi(x) => &x.app_id,
        }
    }

    /// True when the operator declared the provider's value of `field` trustworthy.
    pub fn trusts(&self, field: MatchField) -> bool {
        match self {
            Self::Xiaomi(x) => match field {
                MatchField::Email => x.trust_xiaomi_email,
                MatchField::Phone => x.trust_xiaomi_phone,
            },
        }
    }

    /// Advice about these settings under `policy` (key relative to the connection, message);
    /// see [`super::Config::warnings`].
    pub fn warnings(&self, policy: &Connection) -> Vec<(&'static str, String)> {
        match self {
            Self::Xiaomi(x) => x.warnings(policy),
        }
    }
}

/// `kind = "xiaomi"`: the Xiaomi app a connection logs in with (the `[xiaomi]` table holds
/// where Xiaomi is, for every connection). Field names are the file's keys.
#[derive(Clone, serde::Serialize)]
pub struct XiaomiSettings {
    /// Xiaomi APP ID, a decimal string.
    pub app_id: String,
    /// Xiaomi APP Secret.
    #[serde(skip)]
    pub app_secret: SecretString,
    /// Numeric Xiaomi scopes.
    pub scopes: Vec<u32>,
    /// `skip_confirm` sent to Xiaomi.
    pub skip_confirm: bool,
    /// The operator trusts Xiaomi's email to belong to the person logging in: a match with a
    /// verified local email links automatically. Off by default (pre-account takeover, T-13).
    pub trust_xiaomi_email: bool,
    /// Same for the phone number.
    pub trust_xiaomi_phone: bool,
}

impl XiaomiSettings {
    /// The Xiaomi scope that releases `field` through `/user/phoneAndEmail` (6 email, 4 phone).
    pub const fn scope_of(field: MatchField) -> u32 {
        match field {
            MatchField::Email => 6,
            MatchField::Phone => 4,
        }
    }

    /// True when the scope that releases `field` is requested.
    pub fn requests(&self, field: MatchField) -> bool {
        self.scopes.contains(&Self::scope_of(field))
    }

    /// Field matching on a field whose Xiaomi scope is not requested: that field is never
    /// compared.
    fn warnings(&self, policy: &Connection) -> Vec<(&'static str, String)> {
        policy
            .match_fields
            .iter()
            .filter(|f| policy.association == Association::FieldMatch && !self.requests(**f))
            .map(|f| {
                let message = format!(
                    "matching on {} needs Xiaomi scope {} (approved for your app by Xiaomi); without it that field is never compared",
                    f.as_str(),
                    Self::scope_of(*f)
                );
                ("scopes", message)
            })
            .collect()
    }
}

crate::crypto::redacting_debug!(XiaomiSettings {
    app_id, scopes, skip_confirm, trust_xiaomi_email, trust_xiaomi_phone
} redacts { app_secret });

/// A connection (identity source) of a pool.
#[derive(Clone, Debug)]
pub struct Connection {
    /// Unique ID, `^[a-z0-9-]{1,31}$`; identities bind to it.
    pub unique_id: UniqueId,
    /// Shown on the button by default, per language.
    pub display_name: DisplayName,
    /// Login mode.
    pub login_mode: LoginMode,
    /// Account association policy.
    pub association: Association,
    /// Fields compared when `association` is `field_match` (empty otherwise).
    pub match_fields: Vec<MatchField>,
    /// The provider and its own settings.
    pub provider: ProviderSettings,
}

impl Connection {
    /// True when `field` is compared by this connection's field matching.
    pub fn matches_on(&self, field: MatchField) -> bool {
        self.association == Association::FieldMatch && self.match_fields.contains(&field)
    }

    /// True when an operator declared the provider's value of `field` trustworthy.
    pub fn trusts(&self, field: MatchField) -> bool {
        self.provider.trusts(field)
    }

    /// The button's label for `locale` (`zh…` → Chinese, else English): the configured one, else
    /// the provider kind's default in that language.
    pub fn label(&self, locale: &str) -> &str {
        let (en, zh) = self.provider.kind().default_labels();
        let chinese = locale
            .get(..2)
            .is_some_and(|p| p.eq_ignore_ascii_case("zh"));
        match chinese {
            true => self.display_name.zh_cn.as_deref().unwrap_or(zh),
            false => self.display_name.en.as_deref().unwrap_or(en),
        }
    }
}

/// A connection's button label: one for every language, or one per language; languages without
/// one get the provider kind's default in that language (never another language's text).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DisplayName {
    /// English (`en`), or the one name for every language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
    /// Simplified Chinese (`zh-CN`), or the one name for every language.
    #[serde(rename = "zh-CN", skip_serializing_if = "Option::is_none")]
    pub zh_cn: Option<String>,
}

impl DisplayName {
    /// The languages a per-language `display_name` may name.
    pub const LANGUAGES: [&'static str; 2] = ["en", "zh-CN"];
}
