//! SQLite's [`Tickets`]: binding tickets and experience-login tickets; each call one job on the
//! store's thread.

use super::*;

#[async_trait]
impl Tickets for SqliteStore {
    async fn insert_ticket(&self, t: &Ticket, now: i64) -> Result<(), StoreError> {
        let t = t.clone();
        self.call(move |db| {
            db.exec(q::SWEEP_TICKETS, &[&(now - q::TICKET_GRACE_SECS)])?;
            db.exec(
                q::INSERT_TICKET,
                &[
                    &t.ticket_hash,
                    &t.csrf_hash,
                    &t.dest.pool,
                    &t.connection,
                    &t.subject,
                    &t.client_id,
                    &t.union_id,
                    &t.nickname,
                    &t.avatar,
                    &t.dest.app,
                    &t.dest.attempt,
                    &t.dest.origin,
                    &t.dest.mode,
                    &t.dest.redirect_uri,
                    &t.matched,
                    &t.failures,
                    &t.created_at,
                    &t.expires_at,
                ],
            )
            .map(drop)
        })
        .await
    }

    async fn ticket(&self, ticket_hash: &str) -> Result<Option<Ticket>, StoreError> {
        let h = ticket_hash.to_string();
        self.call(move |db| db.row(q::TICKET, &[&h], |r| Ticket::read(r)))
            .await
    }

    async fn ticket_try(
        &self,
        ticket_hash: &str,
        max: i64,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let h = ticket_hash.to_string();
        self.call(move |db| db.row(q::TICKET_TRY, &[&h, &max, &now], int))
            .await
    }

    async fn consume_ticket(&self, ticket_hash: &str, now: i64) -> Result<bool, StoreError> {
        let h = ticket_hash.to_string();
        self.call(move |db| Ok(db.exec(q::CONSUME_TICKET, &[&h, &now])? == 1))
            .await
    }

    async fn insert_try_ticket(
        &self,
        ticket_hash: &str,
        pool: &str,
        connection: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let (h, p, c) = (
            ticket_hash.to_string(),
            pool.to_string(),
            connection.to_string(),
        );
        self.call(move |db| {
            db.exec(q::SWEEP_TRY_TICKETS, &[&now])?;
            db.exec(q::INSERT_TRY_TICKET, &[&h, &p, &c, &expires_at])
                .map(drop)
        })
        .await
    }

    async fn redeem_try_ticket(
        &self,
        ticket_hash: &str,
        pool: &str,
        connection: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (h, p, c) = (
            ticket_hash.to_string(),
            pool.to_string(),
            connection.to_string(),
        );
        self.call(move |db| Ok(db.exec(q::REDEEM_TRY_TICKET, &[&h, &p, &c, &now])? == 1))
            .await
    }
}
