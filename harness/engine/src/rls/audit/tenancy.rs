//! Tenancy models: how a schema tells its policies who is calling, read
//! from the catalog rather than declared.
//!
//! Three models meet in real apps, often in one schema:
//!
//! - **setting**: the policy reads `current_setting('app.tenant', true)`,
//!   which the app sets per transaction;
//! - **jwt**: the policy calls a *context function*, a function whose body
//!   reads a setting (Supabase's `auth.uid()` and `auth.jwt()` read the
//!   `request.jwt.claim*` settings its API gateway sets), or calls one;
//! - **membership**: the policy looks the caller up in a membership table,
//!   through a subquery (`org_id in (select org_id from members where
//!   member = auth.uid())`) or a membership function (`is_member(org_id)`,
//!   a context function whose body reads a table, usually SECURITY
//!   DEFINER).
//!
//! The audit needs no declaration of which one an app uses: the catalog
//! says (`pg_proc.prosrc` for what a function reads, `provolatile`,
//! `prosecdef`, `proconfig`), and a predicate is a tenant predicate in any
//! model when it ties a key column to one of these sources. The report
//! lists what it recognised, so a reader can see the model it inferred.
//!
//! What this module adds to the checks: the context functions themselves
//! (an IMMUTABLE one lets the planner reuse one caller's identity for the
//! next; a setting read inside one can raise like a policy's), and the
//! membership tables (the list of who belongs where is itself tenant data,
//! and the key to every other table: a caller that can write it joins any
//! tenant).

use super::expr::{self, FnName};
use super::{push, Finding, Severity, Snapshot};

/// A user function, as the catalog describes it.
#[derive(Debug, Clone)]
pub struct FunctionInfo {
    pub schema: String,
    /// `name(identity arguments)`.
    pub signature: String,
    pub name: String,
    /// The source (`prosrc`; the whole definition for SQL-standard bodies).
    pub body: String,
    /// `i` immutable, `s` stable, `v` volatile.
    pub volatility: String,
    pub security_definer: bool,
}

impl FunctionInfo {
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.signature)
    }

    pub(crate) fn fn_name(&self) -> FnName {
        FnName {
            schema: self.schema.clone(),
            name: self.name.clone(),
        }
    }
}

/// The context functions among `fns`: those whose body reads a setting,
/// and, to a fixed point, those that call one.
pub fn context_functions(fns: &[FunctionInfo]) -> Vec<&FunctionInfo> {
    let mut is_ctx: Vec<bool> = fns.iter().map(|f| expr::reads_setting(&f.body)).collect();
    loop {
        let known: Vec<FnName> = fns
            .iter()
            .zip(&is_ctx)
            .filter(|(_, c)| **c)
            .map(|(f, _)| f.fn_name())
            .collect();
        let mut changed = false;
        for (f, c) in fns.iter().zip(is_ctx.iter_mut()) {
            if !*c && expr::calls_any(&f.body, &known) {
                *c = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    fns.iter()
        .zip(is_ctx)
        .filter(|(_, c)| *c)
        .map(|(f, _)| f)
        .collect()
}

/// A table a membership lookup reads, resolved in the catalog.
#[derive(Debug, Clone)]
pub struct MembershipTable {
    pub schema: String,
    pub name: String,
    pub rls: bool,
    /// Policies and functions that read it.
    pub via: Vec<String>,
    /// Per app role: (role, may SELECT, may INSERT/UPDATE/DELETE).
    pub grants: Vec<(String, bool, bool)>,
}

impl MembershipTable {
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// What the audit recognised as the source of the caller's identity, one
/// line per source, for the report.
pub fn describe(s: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    let mut settings: Vec<String> = Vec::new();
    for p in &s.policies {
        for e in p.using.iter().chain(p.with_check.iter()) {
            for name in expr::setting_names(e) {
                if !settings.contains(&name) {
                    settings.push(name);
                }
            }
        }
    }
    for name in settings {
        out.push(format!("setting {name}"));
    }
    for f in context_functions(&s.functions) {
        let tables = expr::tables_read(&f.body);
        let definer = if f.security_definer {
            ", security definer"
        } else {
            ""
        };
        if tables.is_empty() {
            out.push(format!("context function {}{definer}", f.qualified()));
        } else {
            out.push(format!("membership function {}{definer}", f.qualified()));
        }
    }
    for m in &s.membership_tables {
        out.push(format!(
            "membership table {} (read by {})",
            m.qualified(),
            m.via.join(", ")
        ));
    }
    out
}

/// The context functions: not IMMUTABLE, and fail-closed reads of the
/// settings they wrap.
pub fn check_context_fns(s: &Snapshot, out: &mut Vec<Finding>) {
    for f in context_functions(&s.functions) {
        let obj = f.qualified();
        if f.volatility == "i" {
            push(out, Severity::High, "context-function-immutable", obj.clone(),
                format!("{obj} reads the caller's context but is IMMUTABLE: the planner may fold its value into a plan once, and a cached plan (a prepared statement, a PL/pgSQL query) then applies one caller's identity to the next caller"),
                "alter function ... stable   -- a context function depends on session state");
        }
        if expr::setting_without_missing_ok(&f.body) {
            push(out, Severity::Medium, "setting-not-missing-ok", obj.clone(),
                format!("{obj} calls current_setting(name) without missing_ok: with no context set, every policy that calls it errors instead of matching no rows"),
                "use nullif(current_setting(name, true), '')");
        } else if expr::setting_cast_without_nullif(&f.body) {
            push(out, Severity::Medium, "setting-cast-without-nullif", obj.clone(),
                format!("{obj} casts current_setting(..., true) without NULLIF: on a pooled connection where a transaction-local value was set earlier the setting is '' and the cast errors in every policy that calls it"),
                "cast nullif(current_setting(name, true), '') instead");
        }
    }
}

/// Membership tables: the app role must not reach one that RLS does not
/// guard (a definer function may read it on the app's behalf).
pub fn check_membership(s: &Snapshot, out: &mut Vec<Finding>) {
    for m in s.membership_tables.iter().filter(|m| !m.rls) {
        for (role, select, write) in &m.grants {
            let obj = format!("{role} on {}", m.qualified());
            if *write {
                push(out, Severity::High, "membership-table-exposed", obj,
                    format!("{} decides tenant membership (read by {}) and has no row-level security, yet {role} may write it: a caller can add itself to any tenant and then passes every membership policy", m.qualified(), m.via.join(", ")),
                    "enable and force row-level security on it with policies on the caller's own rows, or revoke the app's privileges and read it only through a SECURITY DEFINER function");
            } else if *select {
                push(out, Severity::Medium, "membership-table-exposed", obj,
                    format!("{} decides tenant membership (read by {}) and has no row-level security, yet {role} may read it: every caller sees who belongs to every tenant", m.qualified(), m.via.join(", ")),
                    "enable row-level security on it (a policy on the caller's own rows), or read it only through a SECURITY DEFINER function and revoke select");
            }
        }
    }
}
