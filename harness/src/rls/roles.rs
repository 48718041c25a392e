//! The portal's database roles (created by `apps/portal/migrations/0100_roles`)
//! and how the harness logs in as them.
//!
//! The migrations set no passwords (a password in a migration is the same
//! on every deployment), so on clusters the harness starts, [`login`] gives
//! a role the cluster's own password and returns an endpoint for it. Roles
//! are cluster-wide, so this is done once per cluster, from a superuser.

use sqlx::PgConnection;

use crate::cluster::Endpoint;

/// Owns the schema objects; BYPASSRLS; runs migrations and bulk COPY.
pub const OWNER: &str = "portal_owner";
/// The application: DML only, subject to every policy.
pub const APP: &str = "portal_app";
/// SELECT only, for replica reads; subject to every policy.
pub const READER: &str = "portal_reader";

/// All three, in the order the migration creates them.
pub const ALL: [&str; 3] = [OWNER, APP, READER];

/// Give `role` the password of `superuser` (a harness-started cluster's
/// endpoint) and return an endpoint that logs in as `role`.
pub async fn login(
    superuser: &Endpoint,
    conn: &mut PgConnection,
    role: &str,
) -> Result<Endpoint, sqlx::Error> {
    let password = superuser.password.clone().unwrap_or_default();
    // ALTER ROLE takes no bind parameters; quote the literal server-side.
    let stmt: String =
        sqlx::query_scalar("select format('alter role %I password %L', $1::text, $2::text)")
            .bind(role)
            .bind(&password)
            .fetch_one(&mut *conn)
            .await?;
    // The statement was quoted by format(%I, %L) on the server.
    sqlx::query(sqlx::AssertSqlSafe(stmt))
        .execute(&mut *conn)
        .await?;
    Ok(superuser.with_user(role, Some(&password)))
}
