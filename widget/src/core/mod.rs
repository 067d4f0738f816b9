//! PURE: everything the widget decides, with no browser type in sight, so it is tested natively
//! (`cargo test -p milogin-widget`): the attributes ([`attrs`]), the attempt state machine and
//! message checks ([`protocol`]), redirect mode's record and codecs ([`redirect`]), what the
//! connection list says about one button ([`listing`]) and what the button shows ([`shown`]).

pub mod attrs;
pub mod listing;
pub mod num;
pub mod protocol;
pub mod redirect;
pub mod shown;
