//! The one end of every successful login (the callback's direct path and the binding step):
//! the id_token signed with the pool's current key, and the success result around it.

use crate::config::{Connection, Pool};
use crate::state::AppState;
use crate::store::User;
use crate::token::Claims;
use milogin_shared::{ErrorCode, Outcome, ResultMessage, UserInfo};

/// Signs the id_token of a logged-in user and builds the success result (the callback and the
/// binding step end the same way).
pub async fn issue(
    st: &AppState,
    pool: &Pool,
    conn: &Connection,
    app: &str,
    attempt: &str,
    user: User,
    new_user: bool,
) -> Result<ResultMessage, ErrorCode> {
    let claims = Claims {
        iss: st.config.server.issuer(&pool.id),
        sub: user.id.clone(),
        aud: app.to_owned(),
        iat: st.clock.now(),
        exp: st.clock.now() + st.config.server.token_ttl_secs as i64,
        nonce: attempt.to_owned(),
        name: user.nickname.clone(),
        picture: user.avatar.clone(),
        idp: conn.unique_id.to_string(),
        oidc: Default::default(),
    };
    let key = st
        .keys
        .signer(&pool.id, claims.iat)
        .await
        .ok_or(ErrorCode::Internal)?;
    tracing::info!(pool = %pool.id, connection = %conn.unique_id, user = %user.id, new_user, "login succeeded");
    Ok(ResultMessage {
        attempt: attempt.to_owned(),
        outcome: Outcome::Success {
            id_token: key.sign(&claims),
            user: UserInfo {
                id: user.id,
                nickname: user.nickname,
                avatar: user.avatar,
                connection: conn.unique_id.to_string(),
                new_user,
            },
        },
    })
}
