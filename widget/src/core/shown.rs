//! PURE: what the button shows of its login — the `data-state`, whether it is busy, and what its
//! live region says — as one small `Copy` value the view reads through a signal.

use crate::core::attrs::Texts;
use crate::core::protocol::End;
use milogin_shared as wire;

/// The button's login as the person sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shown {
    /// Nothing started yet.
    #[default]
    Idle,
    /// The login window is open.
    Open,
    /// The last login ended; its announcement.
    Done(Said),
}

/// How the last login ended, as announced in the live region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    /// Signed in.
    SignedIn,
    /// The server or Xiaomi refused.
    Failed,
    /// The window was closed without a result.
    Cancelled,
    /// The browser blocked the window.
    Blocked,
    /// No result before the deadline.
    TimedOut,
}

impl Shown {
    /// What an ended login shows.
    pub fn after(end: &End) -> Self {
        Self::Done(match end {
            End::Outcome(wire::Outcome::Success { .. }) => Said::SignedIn,
            End::Outcome(wire::Outcome::Failure(_)) | End::CutOff => Said::Failed,
            End::Cancelled => Said::Cancelled,
            End::Blocked => Said::Blocked,
            End::TimedOut => Said::TimedOut,
        })
    }

    /// The `data-state` spelling: `idle`, `open` or `done`.
    pub fn state(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Open => "open",
            Self::Done(_) => "done",
        }
    }

    /// `aria-busy`: the window is open.
    pub fn busy(self) -> &'static str {
        if self == Self::Open {
            "true"
        } else {
            "false"
        }
    }

    /// The live region's text in `texts`' language (empty before any login).
    pub fn said(self, texts: &Texts) -> &'static str {
        match self {
            Self::Idle => "",
            Self::Open => texts.opened,
            Self::Done(Said::SignedIn) => texts.signed_in,
            Self::Done(Said::Failed) => texts.failed,
            Self::Done(Said::Cancelled) => texts.cancelled,
            Self::Done(Said::Blocked) => texts.blocked,
            Self::Done(Said::TimedOut) => texts.timed_out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::attrs::Locale;

    #[test]
    fn every_ending_has_its_announcement_in_both_languages() {
        let ends = [
            End::Cancelled,
            End::Blocked,
            End::TimedOut,
            End::Outcome(wire::Outcome::Failure(wire::ErrorBody {
                code: wire::ErrorCode::AccessDenied,
                message: String::new(),
            })),
            End::CutOff,
        ];
        for locale in [Locale::En, Locale::ZhCn] {
            let t = locale.texts();
            let said: Vec<_> = ends.iter().map(|e| Shown::after(e).said(t)).collect();
            assert_eq!(
                said,
                [t.cancelled, t.blocked, t.timed_out, t.failed, t.failed]
            );
            assert_eq!(Shown::Open.said(t), t.opened);
            assert_eq!(Shown::Idle.said(t), "");
        }
    }

    #[test]
    fn only_an_open_window_is_busy() {
        assert_eq!(
            [Shown::Idle, Shown::Open, Shown::Done(Said::SignedIn)].map(|s| (s.state(), s.busy())),
            [("idle", "false"), ("open", "true"), ("done", "false")]
        );
    }
}
