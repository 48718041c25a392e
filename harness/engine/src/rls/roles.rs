//! How the harness logs in as an app's database roles (named in its
//! `app.toml`, created by its migrations).
//!
//! The migrations set no passwords (a password in a migration is the same
//! on every deployment), so on clusters the harness starts, [`login`] gives
//! a role the cluster's own password and returns an endpoint for it. Roles
//! are cluster-wide, so this is done once per cluster, from a superuser.

use sqlx::PgConnection;

use crate::cluster::Endpoint;

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
