//! The shared office server's own setup (PostgreSQL only): the two database roles of the
//! who-may-do-what table, their grants, and the triggers that hold the rules in the database.

use super::{Conn, Engine};
use crate::{Error, Result};
use regie_rules::users::Role;

/// Creates (if missing) `regie_accountant` and `regie_finance_manager` (a member of the first, so
/// it has all its rights), grants them the tables, and installs the rules no desktop can bypass:
/// - no role may change or delete an audit line, or touch the migrations' table;
/// - only a finance manager's session may record a commission outcome, put a student before the
///   commission, issue a credit note, or change a school's settings, the fee grid or the session
///   labels (a trigger checks the session's role on every such row);
/// - an audit line written by a Régie login records that login as its actor, whatever the
///   desktop sent.
///
/// Idempotent; run by the database's owner. The SQL is fixed text: nothing in it comes from a user.
pub async fn setup(conn: &mut Conn) -> Result<()> {
    let Engine::Postgres(c) = conn.engine() else {
        return Err(Error::Invalid(
            "une base SQLite n'a pas de rôles : « server setup » prépare un serveur PostgreSQL".into(),
        ));
    };
    sqlx::raw_sql(SETUP).execute(c).await?;
    Ok(())
}

const SETUP: &str = r#"
DO $$
BEGIN
    IF to_regrole('regie_accountant') IS NULL THEN
        CREATE ROLE regie_accountant NOLOGIN;
    END IF;
    IF to_regrole('regie_finance_manager') IS NULL THEN
        CREATE ROLE regie_finance_manager NOLOGIN IN ROLE regie_accountant;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO regie_accountant;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO regie_accountant;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO regie_accountant;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM regie_accountant;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON _sqlx_migrations FROM regie_accountant;

-- A session that is a Régie login (not the owner's or a superuser's maintenance session).
CREATE OR REPLACE FUNCTION regie_login_role() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN NULL
        WHEN pg_has_role(session_user, 'regie_finance_manager', 'MEMBER') THEN 'finance_manager'
        WHEN pg_has_role(session_user, 'regie_accountant', 'MEMBER') THEN 'accountant'
    END
$$;

CREATE OR REPLACE FUNCTION regie_finance_manager_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF regie_login_role() IS DISTINCT FROM 'finance_manager'
       AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)
       AND NOT pg_has_role(session_user, (SELECT datdba FROM pg_database WHERE datname = current_database()), 'MEMBER') THEN
        RAISE EXCEPTION '% : réservé aux responsables financiers (table %)', session_user, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN COALESCE(NEW, OLD);
END
$$;

DROP TRIGGER IF EXISTS finance_manager_only ON exemption_outcomes;
CREATE TRIGGER finance_manager_only BEFORE INSERT ON exemption_outcomes
    FOR EACH ROW EXECUTE FUNCTION regie_finance_manager_only();
DROP TRIGGER IF EXISTS finance_manager_only ON exemption_additions;
CREATE TRIGGER finance_manager_only BEFORE INSERT ON exemption_additions
    FOR EACH ROW EXECUTE FUNCTION regie_finance_manager_only();
DROP TRIGGER IF EXISTS finance_manager_only ON credit_notes;
CREATE TRIGGER finance_manager_only BEFORE INSERT ON credit_notes
    FOR EACH ROW EXECUTE FUNCTION regie_finance_manager_only();
DROP TRIGGER IF EXISTS finance_manager_only ON school_settings;
CREATE TRIGGER finance_manager_only BEFORE INSERT OR UPDATE OR DELETE ON school_settings
    FOR EACH ROW EXECUTE FUNCTION regie_finance_manager_only();
DROP TRIGGER IF EXISTS finance_manager_only ON fee_grid;
CREATE TRIGGER finance_manager_only BEFORE INSERT OR UPDATE OR DELETE ON fee_grid
    FOR EACH ROW EXECUTE FUNCTION regie_finance_manager_only();
DROP TRIGGER IF EXISTS finance_manager_only ON session_labels;
CREATE TRIGGER finance_manager_only BEFORE INSERT OR UPDATE OR DELETE ON session_labels
    FOR EACH ROW EXECUTE FUNCTION regie_finance_manager_only();

-- The audit line's actor is the database session's login, not a name the desktop typed.
CREATE OR REPLACE FUNCTION regie_audit_actor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF regie_login_role() IS NOT NULL THEN
        NEW.actor := session_user;
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS audit_log_actor ON audit_log;
CREATE TRIGGER audit_log_actor BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION regie_audit_actor();

-- Creates a login (or changes its password and role). Names and passwords arrive as bound values
-- and are quoted by format(%I, %L); PostgreSQL keeps only the password's SCRAM hash.
CREATE OR REPLACE FUNCTION regie_add_login(login text, password text, grp text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF grp NOT IN ('regie_accountant', 'regie_finance_manager') THEN
        RAISE EXCEPTION 'rôle inconnu : %', grp;
    END IF;
    IF to_regrole(quote_ident(login)) IS NULL THEN
        EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', login, password);
    ELSE
        EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L', login, password);
        EXECUTE format('REVOKE regie_accountant, regie_finance_manager FROM %I', login);
    END IF;
    EXECUTE format('GRANT %I TO %I', grp, login);
END
$$;
REVOKE ALL ON FUNCTION regie_add_login(text, text, text) FROM PUBLIC;
"#;

/// Creates the login `name` with `password` in the group of `role` (or changes both for an
/// existing login). Needs the right to create roles (the owner's session).
pub async fn add_login(conn: &mut Conn, name: &str, password: &str, role: Role) -> Result<()> {
    let Engine::Postgres(c) = conn.engine() else {
        return Err(Error::Invalid(
            "une base SQLite n'a pas de comptes : « users add » crée un compte sur le serveur PostgreSQL".into(),
        ));
    };
    let group = match role {
        Role::Accountant => "regie_accountant",
        Role::FinanceManager => "regie_finance_manager",
    };
    sqlx::query("SELECT regie_add_login($1, $2, $3)").bind(name).bind(password).bind(group).execute(c).await?;
    Ok(())
}

/// The session's login and its role, when it is a Régie login on a server set up with roles;
/// `None` on SQLite, or for the owner's and superusers' sessions.
pub async fn login(conn: &mut Conn) -> Result<Option<(String, Role)>> {
    let Engine::Postgres(c) = conn.engine() else { return Ok(None) };
    let (set_up,): (bool,) =
        sqlx::query_as("SELECT to_regproc('regie_login_role') IS NOT NULL").fetch_one(&mut *c).await?;
    if !set_up {
        return Ok(None);
    }
    let (user, role): (String, Option<String>) =
        sqlx::query_as("SELECT CAST(session_user AS TEXT), regie_login_role()").fetch_one(c).await?;
    Ok(match role {
        Some(r) => Some((user, Role::parse(&r)?)),
        None => None,
    })
}
