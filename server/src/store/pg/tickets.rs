//! PostgreSQL's [`Tickets`]: binding tickets and experience-login tickets.

use super::*;

#[async_trait]
impl Tickets for PgStore {
    async fn insert_ticket(&self, t: &Ticket, now: i64) -> Result<(), StoreError> {
        sqlx::query(q::SWEEP_TICKETS)
            .bind(now - q::TICKET_GRACE_SECS)
            .execute(&mut *self.db().await?)
            .await?;
        sqlx::query(q::INSERT_TICKET)
            .bind(&t.ticket_hash)
            .bind(&t.csrf_hash)
            .bind(&t.dest.pool)
            .bind(&t.connection)
            .bind(&t.subject)
            .bind(&t.client_id)
            .bind(&t.union_id)
            .bind(&t.nickname)
            .bind(&t.avatar)
            .bind(&t.dest.app)
            .bind(&t.dest.attempt)
            .bind(&t.dest.origin)
            .bind(t.dest.mode)
            .bind(&t.dest.redirect_uri)
            .bind(t.matched)
            .bind(t.failures)
            .bind(t.created_at)
            .bind(t.expires_at)
            .execute(&mut *self.db().await?)
            .await?;
        Ok(())
    }

    async fn ticket(&self, ticket_hash: &str) -> Result<Option<Ticket>, StoreError> {
        let row = sqlx::query(q::TICKET)
            .bind(ticket_hash)
            .fetch_optional(&mut *self.db().await?)
            .await?;
        row.as_ref().map(Ticket::read).transpose()
    }

    async fn ticket_try(
        &self,
        ticket_hash: &str,
        max: i64,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(q::TICKET_TRY)
            .bind(ticket_hash)
            .bind(max)
            .bind(now)
            .fetch_optional(&mut *self.db().await?)
            .await?;
        Ok(row.map(|r| r.try_get("failures")).transpose()?)
    }

    async fn consume_ticket(&self, ticket_hash: &str, now: i64) -> Result<bool, StoreError> {
        let n = sqlx::query(q::CONSUME_TICKET)
            .bind(ticket_hash)
            .bind(now)
            .execute(&mut *self.db().await?)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn insert_try_ticket(
        &self,
        ticket_hash: &str,
        pool: &str,
        connection: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(q::SWEEP_TRY_TICKETS)
            .bind(now)
            .execute(&mut *self.db().await?)
            .await?;
        sqlx::query(q::INSERT_TRY_TICKET)
            .bind(ticket_hash)
            .bind(pool)
            .bind(connection)
            .bind(expires_at)
            .execute(&mut *self.db().await?)
            .await?;
        Ok(())
    }

    async fn redeem_try_ticket(
        &self,
        ticket_hash: &str,
        pool: &str,
        connection: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        // One DELETE: of two concurrent redeems (any replicas) only one sees the row.
        let n = sqlx::query(q::REDEEM_TRY_TICKET)
            .bind(ticket_hash)
            .bind(pool)
            .bind(connection)
            .bind(now)
            .execute(&mut *self.db().await?)
            .await?
            .rows_affected();
        Ok(n == 1)
    }
}
