//! The policy checks (docs/rls.md, pitfalls 3, 5 and 6): policies that fail
//! open or with an error, write policies without a tenant check, and
//! permissive policies that widen access, with restrictive policies taken
//! into account.
//!
//! PostgreSQL lets a row through when at least one permissive policy and
//! every restrictive policy for the command and role accept it. So a
//! permissive policy that looks wide on its own (`using (true)`, a status
//! filter, an "admin" flag) is bounded when a restrictive tenant policy
//! applies to the same command and role: the finding stays, as `info`, and
//! names the policy that bounds it. A restrictive policy for another role or
//! another command bounds nothing, and the finding keeps its severity.

use std::collections::BTreeMap;

use super::expr::{self, FnName};
use super::{push, Finding, PolicyInfo, Severity, Snapshot, TableInfo};

/// The commands a policy's `polcmd` covers.
fn commands(cmd: &str) -> &'static [&'static str] {
    match cmd {
        "r" => &["SELECT"],
        "a" => &["INSERT"],
        "w" => &["UPDATE"],
        "d" => &["DELETE"],
        _ => &["SELECT", "INSERT", "UPDATE", "DELETE"],
    }
}

fn cmd_name(cmd: &str) -> &'static str {
    match cmd {
        "r" => "SELECT",
        "a" => "INSERT",
        "w" => "UPDATE",
        "d" => "DELETE",
        _ => "ALL",
    }
}

/// What a policy checks written rows with: WITH CHECK, or for ALL and
/// UPDATE without one, USING.
fn effective_check(p: &PolicyInfo) -> Option<&str> {
    p.with_check.as_deref().or(if p.cmd == "a" {
        None
    } else {
        p.using.as_deref()
    })
}

/// A table's policies, and how to tell whether an expression confines
/// rows to the caller's tenant.
struct Table<'a> {
    t: &'a TableInfo,
    restrictive: Vec<&'a PolicyInfo>,
    context_fns: &'a [FnName],
}

impl Table<'_> {
    fn confines(&self, e: Option<&str>) -> bool {
        let keys: Vec<&str> = self.t.keys.iter().map(String::as_str).collect();
        e.is_some_and(|e| expr::restricts(e, &self.t.name, &keys, self.context_fns))
    }

    /// The restrictive tenant policies that bound `command` for every one
    /// of `roles` (reading rows, or writing them), or None when one role
    /// or the command is left unbounded.
    fn bounded_by(&self, roles: &[String], command: &str, write: bool) -> Option<Vec<String>> {
        let mut names = Vec::new();
        for role in roles {
            let q = self.restrictive.iter().find(|q| {
                commands(&q.cmd).contains(&command)
                    && q.roles.iter().any(|r| r == "public" || r == role)
                    && if write {
                        self.confines(effective_check(q))
                    } else {
                        self.confines(q.using.as_deref())
                    }
            })?;
            if !names.contains(&q.name) {
                names.push(q.name.clone());
            }
        }
        Some(names)
    }

    /// Bounded for every command of `p` that reads (or writes) rows.
    fn policy_bounded(&self, p: &PolicyInfo, write: bool) -> Option<Vec<String>> {
        let mut names: Vec<String> = Vec::new();
        for c in commands(&p.cmd) {
            let relevant = if write {
                matches!(*c, "INSERT" | "UPDATE")
            } else {
                matches!(*c, "SELECT" | "UPDATE" | "DELETE")
            };
            if relevant {
                for n in self.bounded_by(&p.roles, c, write)? {
                    if !names.contains(&n) {
                        names.push(n);
                    }
                }
            }
        }
        Some(names)
    }
}

pub fn check_policies(s: &Snapshot, out: &mut Vec<Finding>) {
    let context_fns: Vec<FnName> = super::tenancy::context_functions(&s.functions)
        .into_iter()
        .map(|f| f.fn_name())
        .collect();
    for t in s.tables.values().filter(|t| t.rls) {
        let pols: Vec<&PolicyInfo> = s.policies.iter().filter(|p| p.table_oid == t.oid).collect();
        let table = Table {
            t,
            restrictive: pols.iter().copied().filter(|p| !p.permissive).collect(),
            context_fns: &context_fns,
        };
        for p in &pols {
            check_settings(s, t, p, out);
            if p.permissive {
                check_permissive(s, &table, p, out);
            }
        }
        check_permissive_or(&table, &pols, out);
    }
}

/// docs/rls.md, pitfall 3: settings read so that an unset context raises.
fn check_settings(s: &Snapshot, t: &TableInfo, p: &PolicyInfo, out: &mut Vec<Finding>) {
    let obj = format!("{}.{}", t.qualified(), p.name);
    let cmd = cmd_name(&p.cmd);
    let mut flagged = Vec::new();
    for e in p.using.iter().chain(p.with_check.iter()) {
        if expr::setting_without_missing_ok(e) {
            if !flagged.contains(&"setting-not-missing-ok") {
                flagged.push("setting-not-missing-ok");
                push(out, Severity::Medium, "setting-not-missing-ok", obj.clone(),
                    format!("policy {} ({cmd}) calls current_setting(name) without missing_ok: with no tenant context every query on {} errors instead of returning no rows", p.name, t.qualified()),
                    format!("use {}::<tenant type>", s.context));
            }
        } else if expr::setting_cast_without_nullif(e)
            && !flagged.contains(&"setting-cast-without-nullif")
        {
            flagged.push("setting-cast-without-nullif");
            push(out, Severity::Medium, "setting-cast-without-nullif", obj.clone(),
                format!("policy {} ({cmd}) casts current_setting(..., true) without NULLIF (a scalar subselect around it changes nothing): on a pooled connection where a transaction-local tenant was set earlier the setting is '' and the cast errors (22P02)", p.name),
                format!("cast the NULLIF instead: {}::<tenant type>", s.context));
        }
    }
}

/// docs/rls.md, pitfalls 5 and 6: a permissive policy must confine rows on
/// its own, unless a restrictive tenant policy bounds it.
fn check_permissive(s: &Snapshot, table: &Table, p: &PolicyInfo, out: &mut Vec<Finding>) {
    let t = table.t;
    let obj = format!("{}.{}", t.qualified(), p.name);
    let cmd = cmd_name(&p.cmd);
    let reads = matches!(p.cmd.as_str(), "r" | "w" | "d" | "*");
    let writes = matches!(p.cmd.as_str(), "a" | "w" | "*");
    if reads && !table.confines(p.using.as_deref()) {
        match table.policy_bounded(p, false) {
            Some(by) => push(out, Severity::Info, "policy-widens-access", obj.clone(),
                format!("permissive policy {} ({cmd}, to {}) does not confine rows to the tenant on its own (USING is {}), but restrictive {} bound{} it for every command and role it covers: not a leak",
                    p.name, p.roles.join(", "), p.using.as_deref().unwrap_or("absent"), by.join(", "), if by.len() == 1 { "s" } else { "" }),
                "nothing to do; keep the restrictive policy's roles and commands in step with this one's"),
            None => push(out, Severity::High, "policy-widens-access", obj.clone(),
                format!("permissive policy {} ({cmd}, to {}) does not confine rows to the tenant context: USING is {}; permissive policies OR together, so it widens whatever the others allow, and no restrictive tenant policy covers its commands and roles",
                    p.name, p.roles.join(", "), p.using.as_deref().unwrap_or("absent")),
                format!("make it `as restrictive`, add `and {} = {}::<tenant type>`, or add a restrictive tenant policy for the same commands and roles", t.tenant_key, s.context)),
        }
    }
    if writes {
        let effective = effective_check(p);
        if !table.confines(effective) {
            match table.policy_bounded(p, true) {
                Some(by) => push(out, Severity::Info, "write-check-missing", obj.clone(),
                    format!("policy {} ({cmd}) does not check written rows against the tenant on its own (WITH CHECK is {}), but restrictive {} check{} them: not a leak",
                        p.name, effective.unwrap_or("absent"), by.join(", "), if by.len() == 1 { "s" } else { "" }),
                    "nothing to do; keep the restrictive policy's roles and commands in step with this one's"),
                None => push(out, Severity::High, "write-check-missing", obj.clone(),
                    format!("policy {} ({cmd}) does not check written rows against the tenant context (WITH CHECK is {}): a tenant can insert or move rows into another tenant",
                        p.name, effective.unwrap_or("absent")),
                    format!("add `with check ({} = {}::<tenant type>)`", t.tenant_key, s.context)),
            }
        } else if p.with_check.is_none() {
            push(out, Severity::Medium, "write-check-implicit", obj.clone(),
                format!("policy {} ({cmd}) has no WITH CHECK and relies on USING being reused for written rows; a later edit of USING silently changes what may be written", p.name),
                "state WITH CHECK explicitly, equal to the tenant condition");
        }
    }
}

/// docs/rls.md, pitfall 6: several permissive policies for one command and
/// role OR together; bounded by a restrictive tenant policy, that is info.
fn check_permissive_or(table: &Table, pols: &[&PolicyInfo], out: &mut Vec<Finding>) {
    let t = table.t;
    let mut per: BTreeMap<(String, &'static str), Vec<&str>> = BTreeMap::new();
    for p in pols.iter().filter(|p| p.permissive) {
        for role in &p.roles {
            for c in commands(&p.cmd) {
                per.entry((role.clone(), c)).or_default().push(&p.name);
            }
        }
    }
    for ((role, cmd), names) in per {
        if names.len() < 2 {
            continue;
        }
        let obj = format!("{} ({cmd} to {role})", t.qualified());
        let write = cmd == "INSERT";
        match table.bounded_by(std::slice::from_ref(&role), cmd, write) {
            Some(by) => push(out, Severity::Info, "permissive-policies-or", obj,
                format!("{} permissive policies apply to {cmd} for {role} on {} and are ORed ({}), inside restrictive {}: the widest one decides within the tenant only", names.len(), t.qualified(), names.join(", "), by.join(", ")),
                "nothing to do while the restrictive policy stays"),
            None => push(out, Severity::Medium, "permissive-policies-or", obj,
                format!("{} permissive policies apply to {cmd} for {role} on {} and are ORed: {}; the widest one decides", names.len(), t.qualified(), names.join(", ")),
                "keep one permissive policy per command and role, and express extra rules as restrictive policies"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(
        name: &str,
        cmd: &str,
        permissive: bool,
        roles: &[&str],
        using: Option<&str>,
        check: Option<&str>,
    ) -> PolicyInfo {
        PolicyInfo {
            table_oid: 1,
            name: name.into(),
            cmd: cmd.into(),
            permissive,
            roles: roles.iter().map(|r| r.to_string()).collect(),
            using: using.map(str::to_string),
            with_check: check.map(str::to_string),
        }
    }

    fn snapshot(policies: Vec<PolicyInfo>) -> Snapshot {
        let mut s = Snapshot::default();
        s.tables.insert(
            1,
            TableInfo {
                oid: 1,
                schema: "public".into(),
                name: "tickets".into(),
                owner: "o".into(),
                rls: true,
                force: true,
                tenant_key: "org_id".into(),
                keys: vec!["org_id".into()],
                is_root: false,
                by_user: false,
            },
        );
        s.policies = policies;
        s
    }

    fn found(s: &Snapshot) -> Vec<(Severity, String, String)> {
        let mut out = Vec::new();
        check_policies(s, &mut out);
        out.into_iter()
            .map(|f| (f.severity, f.check, f.object))
            .collect()
    }

    // As pg_get_expr deparses `(select nullif(current_setting('app.org_id', true), '')::uuid)`.
    const TENANT: &str = "(org_id = ( SELECT (NULLIF(current_setting('app.org_id'::text, true), ''::text))::uuid AS \"nullif\"))";

    #[test]
    fn a_restrictive_tenant_policy_bounds_a_wide_permissive_one() {
        let s = snapshot(vec![
            policy("tenant", "*", false, &["app"], Some(TENANT), Some(TENANT)),
            policy(
                "open",
                "r",
                true,
                &["app"],
                Some("(status <> 'deleted'::text)"),
                None,
            ),
            policy("write", "*", true, &["app"], Some("true"), Some("true")),
        ]);
        let got = found(&s);
        assert!(
            got.contains(&(
                Severity::Info,
                "policy-widens-access".into(),
                "public.tickets.open".into()
            )),
            "{got:?}"
        );
        assert!(
            got.contains(&(
                Severity::Info,
                "write-check-missing".into(),
                "public.tickets.write".into()
            )),
            "{got:?}"
        );
        assert!(
            got.contains(&(
                Severity::Info,
                "permissive-policies-or".into(),
                "public.tickets (SELECT to app)".into()
            )),
            "{got:?}"
        );
        assert!(got.iter().all(|f| f.0 == Severity::Info), "{got:?}");
    }

    #[test]
    fn a_restrictive_policy_for_another_role_or_command_bounds_nothing() {
        // restrictive for SELECT only: the ALL policy's UPDATE/DELETE/INSERT stay open
        let s = snapshot(vec![
            policy("tenant", "r", false, &["app"], Some(TENANT), None),
            policy("write", "*", true, &["app"], Some("true"), Some("true")),
        ]);
        let got = found(&s);
        assert!(
            got.contains(&(
                Severity::High,
                "policy-widens-access".into(),
                "public.tickets.write".into()
            )),
            "{got:?}"
        );
        assert!(
            got.contains(&(
                Severity::High,
                "write-check-missing".into(),
                "public.tickets.write".into()
            )),
            "{got:?}"
        );
        // restrictive for another role: the permissive one for `app` is open
        let s = snapshot(vec![
            policy(
                "tenant",
                "*",
                false,
                &["reader"],
                Some(TENANT),
                Some(TENANT),
            ),
            policy("open", "r", true, &["app"], Some("true"), None),
        ]);
        assert!(found(&s).contains(&(
            Severity::High,
            "policy-widens-access".into(),
            "public.tickets.open".into()
        )));
        // a restrictive policy that does not confine bounds nothing either
        let s = snapshot(vec![
            policy(
                "flag",
                "*",
                false,
                &["public"],
                Some("(current_setting('app.on'::text, true) = 'on'::text)"),
                None,
            ),
            policy("open", "r", true, &["app"], Some("true"), None),
        ]);
        assert!(found(&s).contains(&(
            Severity::High,
            "policy-widens-access".into(),
            "public.tickets.open".into()
        )));
        // a restrictive policy TO PUBLIC bounds every role
        let s = snapshot(vec![
            policy("tenant", "r", false, &["public"], Some(TENANT), None),
            policy("open", "r", true, &["app", "reader"], Some("true"), None),
        ]);
        assert!(found(&s).contains(&(
            Severity::Info,
            "policy-widens-access".into(),
            "public.tickets.open".into()
        )));
    }
}
