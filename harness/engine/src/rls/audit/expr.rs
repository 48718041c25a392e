//! Recognisers over SQL expression text: the policy predicates as
//! `pg_get_expr` deparses them, and function bodies as `pg_proc.prosrc`
//! holds them.
//!
//! Why text and not a parse tree: the catalog hands out policies only as
//! deparsed text (`polqual` is a node tree no client library reads), and the
//! audit must run with nothing but a connection. The text is tokenised
//! first (identifiers lowered, string literals kept apart, parentheses
//! matched), so the recognisers never mistake `'org_id'` for a column or
//! a newline for a word break. What they recognise, and how far the
//! heuristics go, is spelled out on each function and in docs/rls.md.
//!
//! Deparsed shapes these were written against (PostgreSQL 15):
//!
//! - `(org_id = (current_setting('app.x'::text, true))::uuid)`
//! - `(org_id = (( SELECT current_setting('app.x'::text, true) AS current_setting))::uuid)`
//! - `(org_id = ( SELECT (current_setting('app.x'::text, true))::uuid AS current_setting))`
//! - `(org_id = ( SELECT (NULLIF(current_setting('app.x'::text, true), ''::text))::uuid AS "nullif"))`
//! - `(org_id IN ( SELECT m.org_id FROM members m WHERE (m.user_id = ( SELECT auth.uid() AS uid))))`
//! - `(EXISTS ( SELECT 1 FROM members m WHERE ((m.org_id = t.org_id) AND (m.user_id = auth.uid()))))`
//! - `is_member(org_id)`

/// One lexical token. Unquoted words are lowered, as PostgreSQL folds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Word(String),
    /// A double-quoted identifier, as written (case kept).
    Quoted(String),
    Str(String),
    Num,
    Open,
    Close,
    Comma,
    Dot,
    Cast,
    /// Any other operator (`=`, `->>`, `<>`, ...).
    Op(String),
}

impl Tok {
    fn is_word(&self, w: &str) -> bool {
        matches!(self, Tok::Word(x) if x == w)
    }

    /// The identifier this token names, quoted or not.
    fn ident(&self) -> Option<&str> {
        match self {
            Tok::Word(w) | Tok::Quoted(w) => Some(w),
            _ => None,
        }
    }
}

/// Split SQL text into tokens; comments are dropped, dollar-quoted bodies
/// are kept as one string.
pub(crate) fn tokens(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        s.push('\'');
                        i += 2;
                        continue;
                    }
                    break;
                }
                s.push(chars[i]);
                i += 1;
            }
            i += 1;
            out.push(Tok::Str(s));
        } else if c == '"' {
            let mut s = String::new();
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                s.push(chars[i]);
                i += 1;
            }
            i += 1;
            out.push(Tok::Quoted(s));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            let w: String = chars[start..i].iter().collect();
            out.push(Tok::Word(w.to_lowercase()));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            out.push(Tok::Num);
        } else if c == '$' && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
            // $1: a parameter of a function body.
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Tok::Num);
        } else if c == '$' {
            // $$ or $tag$ quoting: the quoted text is one string here.
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            if chars.get(j) != Some(&'$') {
                i += 1;
                out.push(Tok::Op("$".into()));
                continue;
            }
            let tag: String = chars[i..=j].iter().collect();
            let rest: String = chars[j + 1..].iter().collect();
            let end = rest.find(&tag).unwrap_or(rest.len());
            out.push(Tok::Str(rest[..end].to_string()));
            i = j + 1 + rest[..end].chars().count() + tag.chars().count();
        } else {
            i += 1;
            out.push(match c {
                '(' => Tok::Open,
                ')' => Tok::Close,
                ',' => Tok::Comma,
                '.' => Tok::Dot,
                ':' if chars.get(i) == Some(&':') => {
                    i += 1;
                    Tok::Cast
                }
                _ => {
                    let mut op = c.to_string();
                    while i < chars.len() && "+-*/<>=~!@#%^&|`?".contains(chars[i]) {
                        op.push(chars[i]);
                        i += 1;
                    }
                    Tok::Op(op)
                }
            });
        }
    }
    out
}

/// The index of the `Close` matching the `Open` at `open`, or the end.
fn matching(toks: &[Tok], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    toks.len()
}

/// A function call in the text: `schema.name(args)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    pub schema: Option<String>,
    pub name: String,
    /// Token range of the whole call, from the first name token to `)`.
    pub start: usize,
    pub open: usize,
    pub close: usize,
}

/// Words that are followed by `(` without being functions.
const NOT_CALLS: &[&str] = &[
    "in", "exists", "any", "all", "some", "and", "or", "not", "select", "from", "where", "as",
    "on", "array", "values", "then", "else", "when", "is", "using", "with", "check",
];

/// Every call in `toks`.
pub(crate) fn calls(toks: &[Tok]) -> Vec<Call> {
    let mut out = Vec::new();
    for i in 0..toks.len() {
        if toks.get(i + 1) != Some(&Tok::Open) {
            continue;
        }
        let Some(name) = toks[i].ident() else {
            continue;
        };
        if matches!(&toks[i], Tok::Word(w) if NOT_CALLS.contains(&w.as_str())) {
            continue;
        }
        let (schema, start) = if i >= 2 && toks[i - 1] == Tok::Dot {
            (toks[i - 2].ident().map(str::to_string), i - 2)
        } else {
            (None, i)
        };
        out.push(Call {
            schema,
            name: name.to_string(),
            start,
            open: i + 1,
            close: matching(toks, i + 1),
        });
    }
    out
}

/// Top-level argument count of a call.
fn arg_count(toks: &[Tok], c: &Call) -> usize {
    if c.close == c.open + 1 {
        return 0;
    }
    let mut depth = 0;
    let mut n = 1;
    for t in &toks[c.open + 1..c.close.min(toks.len())] {
        match t {
            Tok::Open => depth += 1,
            Tok::Close => depth -= 1,
            Tok::Comma if depth == 0 => n += 1,
            _ => {}
        }
    }
    n
}

fn setting_calls(toks: &[Tok]) -> impl Iterator<Item = Call> + '_ {
    calls(toks).into_iter().filter(|c| {
        c.name == "current_setting" && c.schema.as_deref().is_none_or(|s| s == "pg_catalog")
    })
}

/// Whether the text calls `current_setting(name)` without `missing_ok`:
/// such a call raises when the setting was never set.
pub(crate) fn setting_without_missing_ok(text: &str) -> bool {
    let toks = tokens(text);
    let found = setting_calls(&toks).any(|c| arg_count(&toks, &c) < 2);
    found
}

/// The setting names read by `current_setting('name', ...)` calls.
pub(crate) fn setting_names(text: &str) -> Vec<String> {
    let toks = tokens(text);
    setting_calls(&toks)
        .filter_map(|c| match toks.get(c.open + 1) {
            Some(Tok::Str(s)) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// Whether the text reads `current_setting` at all.
pub(crate) fn reads_setting(text: &str) -> bool {
    setting_calls(&tokens(text)).next().is_some()
}

/// Types a setting may be cast to without failing on `''`.
const STRING_TYPES: &[&str] = &["text", "varchar", "character", "name", "bpchar"];

/// Whether a `current_setting(...)` in the text is cast to a non-string
/// type (`::uuid`, `::int`, `::jsonb`) without `NULLIF(..., '')` first:
/// on a pooled connection where a transaction-local value was set earlier
/// the setting is `''`, and the cast raises.
///
/// From the call outwards: a call that is `NULLIF`'s first argument is
/// safe; otherwise closing parentheses (a parenthesised expression, a
/// scalar subselect, Supabase's `(select ...)` idiom) and a subselect's
/// `AS alias` are stepped over, and the first cast met decides. Anything
/// else met first (an operator, a comma) ends the climb: the setting is
/// then an operand, not the value cast.
pub(crate) fn setting_cast_without_nullif(text: &str) -> bool {
    let toks = tokens(text);
    let found = setting_calls(&toks).any(|c| {
        let in_nullif =
            c.start >= 2 && toks[c.start - 1] == Tok::Open && toks[c.start - 2].is_word("nullif");
        if in_nullif {
            return false;
        }
        let mut i = c.close + 1;
        while i < toks.len() {
            match &toks[i] {
                Tok::Close => i += 1,
                Tok::Word(w) if w == "as" => i += 2,
                Tok::Cast => match toks.get(i + 1) {
                    Some(Tok::Word(ty)) if STRING_TYPES.contains(&ty.as_str()) => i += 2,
                    Some(_) => return true,
                    None => return false,
                },
                _ => return false,
            }
        }
        false
    });
    found
}

/// A function the audit knows reads the session's context (directly or
/// through another such function): a name to match calls against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FnName {
    pub schema: String,
    pub name: String,
}

impl FnName {
    fn matches(&self, c: &Call) -> bool {
        c.name == self.name && c.schema.as_deref().is_none_or(|s| s == self.schema)
    }
}

/// Whether the tokens read the context: a `current_setting` call or a
/// call to one of `context_fns`.
fn reads_context(toks: &[Tok], context_fns: &[FnName]) -> bool {
    calls(toks).iter().any(|c| {
        (c.name == "current_setting" && c.schema.as_deref().is_none_or(|s| s == "pg_catalog"))
            || context_fns.iter().any(|f| f.matches(c))
    })
}

/// Whether `text` calls one of `fns`.
pub(crate) fn calls_any(text: &str, fns: &[FnName]) -> bool {
    let toks = tokens(text);
    calls(&toks)
        .iter()
        .any(|c| fns.iter().any(|f| f.matches(c)))
}

/// Token ranges `[open, close]` of every scalar or set subquery:
/// `( SELECT ... )`.
fn subqueries(toks: &[Tok]) -> Vec<(usize, usize)> {
    (0..toks.len())
        .filter(|&i| toks[i] == Tok::Open && toks.get(i + 1).is_some_and(|t| t.is_word("select")))
        .map(|i| (i, matching(toks, i)))
        .collect()
}

/// Tables named after `FROM` or `JOIN` in the text (`schema.name` or
/// `name`): the tables a subquery or a function body reads.
pub(crate) fn tables_read(text: &str) -> Vec<(Option<String>, String)> {
    tables_in(&tokens(text))
}

fn tables_in(toks: &[Tok]) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    for i in 0..toks.len() {
        if !(toks[i].is_word("from") || toks[i].is_word("join")) {
            continue;
        }
        let Some(first) = toks.get(i + 1).and_then(Tok::ident) else {
            continue;
        };
        // `from unnest(...)`, `from generate_series(...)`: not a table.
        let qualified = toks.get(i + 2) == Some(&Tok::Dot);
        let next = if qualified { i + 4 } else { i + 2 };
        if toks.get(next) == Some(&Tok::Open) {
            continue;
        }
        let entry = if qualified {
            match toks.get(i + 3).and_then(Tok::ident) {
                Some(n) => (Some(first.to_string()), n.to_string()),
                None => continue,
            }
        } else {
            (None, first.to_string())
        };
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    out
}

/// The tables read by the subqueries of `expr` that also read the context:
/// membership lookups (`org_id IN (SELECT ... FROM members WHERE member =
/// auth.uid())`, `EXISTS (...)`).
pub(crate) fn membership_tables(
    expr: &str,
    context_fns: &[FnName],
) -> Vec<(Option<String>, String)> {
    let toks = tokens(expr);
    let mut out = Vec::new();
    for (open, close) in subqueries(&toks) {
        let inner = &toks[open..=close.min(toks.len() - 1)];
        if reads_context(inner, context_fns) {
            for t in tables_in(inner) {
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
    }
    out
}

/// Strip parentheses that wrap the whole token slice.
fn unwrap(mut toks: &[Tok]) -> &[Tok] {
    while toks.len() >= 2 && toks[0] == Tok::Open && matching(toks, 0) == toks.len() - 1 {
        toks = &toks[1..toks.len() - 1];
    }
    toks
}

/// Split at top-level occurrences of the word `op` (`and`, `or`).
fn split_top<'a>(toks: &'a [Tok], op: &str) -> Vec<&'a [Tok]> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::Open => depth += 1,
            Tok::Close => depth -= 1,
            t if depth == 0 && t.is_word(op) => {
                parts.push(&toks[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&toks[start..]);
    parts
}

/// Whether the predicate confines rows to the caller's tenant: it ties one
/// of `columns` (the tenant column, or the user column on user-keyed
/// tables) to the session's context.
///
/// A disjunction confines only when every branch does (one open branch
/// widens the whole); a conjunction confines when one part does. A part
/// confines when it reads the context (a setting, a context function, a
/// membership function, or a subquery that reads one of those) and
/// references a key column outside any subquery, or inside one as
/// `table.column` (a correlated `EXISTS`). Which comparison joins the two
/// is not checked: the text does not say, and a heuristic that guessed
/// would fail both ways.
pub(crate) fn restricts(expr: &str, table: &str, columns: &[&str], context_fns: &[FnName]) -> bool {
    restricts_toks(&tokens(expr), table, columns, context_fns)
}

fn restricts_toks(toks: &[Tok], table: &str, columns: &[&str], context_fns: &[FnName]) -> bool {
    let toks = unwrap(toks);
    let ors = split_top(toks, "or");
    if ors.len() > 1 {
        return ors
            .iter()
            .all(|p| restricts_toks(p, table, columns, context_fns));
    }
    let ands = split_top(toks, "and");
    if ands.len() > 1 {
        return ands
            .iter()
            .any(|p| restricts_toks(p, table, columns, context_fns));
    }
    reads_context(toks, context_fns) && references_key(toks, table, columns)
}

/// Whether `toks` reference one of `columns` of the policy's own table.
fn references_key(toks: &[Tok], table: &str, columns: &[&str]) -> bool {
    let subs = subqueries(toks);
    let in_sub = |i: usize| subs.iter().any(|&(o, c)| o < i && i < c);
    (0..toks.len()).any(|i| {
        let Some(name) = toks[i].ident() else {
            return false;
        };
        if !columns.contains(&name) || toks.get(i + 1) == Some(&Tok::Open) {
            return false;
        }
        let qualifier = (i >= 2 && toks[i - 1] == Tok::Dot)
            .then(|| toks[i - 2].ident())
            .flatten();
        match qualifier {
            Some(q) => q == table,
            None => !in_sub(i),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Vec<FnName> {
        vec![
            FnName {
                schema: "auth".into(),
                name: "uid".into(),
            },
            FnName {
                schema: "auth".into(),
                name: "jwt".into(),
            },
            FnName {
                schema: "public".into(),
                name: "is_member".into(),
            },
        ]
    }

    // Inputs below are pg_get_expr's output on PostgreSQL 15, copied from
    // a real server.

    #[test]
    fn a_cast_of_the_setting_inside_a_subselect_is_still_a_cast() {
        for flawed in [
            "(org_id = (current_setting('app.x'::text, true))::uuid)",
            "(org_id = (( SELECT current_setting('app.x'::text, true) AS current_setting))::uuid)",
            "(org_id = ( SELECT (current_setting('app.x'::text, true))::uuid AS current_setting))",
            "(( SELECT (current_setting('app.x'::text))::uuid AS current_setting) = org_id)",
            // a body as written: lower case, no spaces, a text cast first
            "select current_setting('request.jwt.claim.sub', true)::text::uuid",
        ] {
            assert!(setting_cast_without_nullif(flawed), "{flawed}");
        }
        for ok in [
            "(org_id = ( SELECT (NULLIF(current_setting('app.x'::text, true), ''::text))::uuid AS \"nullif\"))",
            "(org_key = (NULLIF(current_setting('app.org'::text, true), ''::text))::uuid)",
            "(current_setting('app.user_role'::text, true) = 'admin'::text)",
            "(role = current_setting('app.role'::text, true))",
            "select coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''), auth.jwt() ->> 'sub')::uuid",
        ] {
            assert!(!setting_cast_without_nullif(ok), "{ok}");
        }
    }

    #[test]
    fn tells_setting_calls_without_missing_ok() {
        assert!(setting_without_missing_ok(
            "(org_key = (current_setting('app.org'::text))::uuid)"
        ));
        assert!(setting_without_missing_ok(
            "(( SELECT (current_setting('app.x'::text))::uuid AS current_setting) = org_id)"
        ));
        assert!(!setting_without_missing_ok(
            "(org_key = (NULLIF(current_setting('app.org'::text, true), ''::text))::uuid)"
        ));
        // a literal that looks like a call is not one
        assert!(!setting_without_missing_ok(
            "(note = 'current_setting(x)'::text)"
        ));
    }

    #[test]
    fn recognises_membership_subqueries() {
        let member_in = "(org_id IN ( SELECT m.org_id\n   FROM members m\n  WHERE (m.user_id = ( SELECT auth.uid() AS uid))))";
        assert!(restricts(member_in, "documents", &["org_id"], &auth()));
        assert_eq!(
            membership_tables(member_in, &auth()),
            vec![(None, "members".to_string())]
        );
        let exists = "(EXISTS ( SELECT 1\n   FROM members m\n  WHERE ((m.org_id = t.org_id) AND (m.user_id = auth.uid()))))";
        assert!(restricts(exists, "t", &["org_id"], &auth()));
        // correlated on the wrong table: the policy's rows are not tied
        assert!(!restricts(exists, "other", &["org_id"], &auth()));
        assert_eq!(
            membership_tables("(org_id IN ( SELECT m.org_id FROM app.members m JOIN app.orgs o ON (o.id = m.org_id) WHERE (m.user_id = auth.uid())))", &auth()),
            vec![(Some("app".into()), "members".into()), (Some("app".into()), "orgs".into())]
        );
        // a membership subquery that forgets the caller confines nothing
        let forgets = "(org_id IN ( SELECT members.org_id FROM members))";
        assert!(!restricts(forgets, "documents", &["org_id"], &auth()));
        assert!(membership_tables(forgets, &auth()).is_empty());
        // a membership function taking the tenant column
        assert!(restricts("is_member(org_id)", "t", &["org_id"], &auth()));
        assert!(!restricts("is_member(other_id)", "t", &["org_id"], &auth()));
        assert!(!restricts("unknown_fn(org_id)", "t", &["org_id"], &auth()));
    }

    #[test]
    fn recognises_jwt_claims_and_or_branches() {
        let own = "(user_id = ( SELECT auth.uid() AS uid))";
        assert!(restricts(own, "profiles", &["org_id", "user_id"], &auth()));
        assert!(!restricts(own, "profiles", &["org_id"], &auth()));
        let claim = "(org_id = ( SELECT ((auth.jwt() ->> 'org_id'::text))::uuid AS uuid))";
        assert!(restricts(claim, "d", &["org_id"], &auth()));
        // "logged in" is not "owner"
        assert!(!restricts(
            "(auth.role() = 'authenticated'::text)",
            "p",
            &["user_id"],
            &auth()
        ));
        // one open OR branch widens the whole; the literal 'org_id' is no column
        let or = "((org_id = ( SELECT current_org() AS current_org)) OR ((auth.jwt() ->> 'org_id'::text) IS NOT NULL))";
        let with_current_org = [
            auth(),
            vec![FnName {
                schema: "public".into(),
                name: "current_org".into(),
            }],
        ]
        .concat();
        assert!(!restricts(or, "i", &["org_id"], &with_current_org));
        assert!(restricts(
            "(org_id = ( SELECT current_org() AS current_org))",
            "i",
            &["org_id"],
            &with_current_org
        ));
        // AND: one confining part is enough; two half-parts are not
        let and = "((company_id = (NULLIF(current_setting('app.c'::text, true), ''::text))::uuid) AND ((id = (NULLIF(current_setting('app.u'::text, true), ''::text))::uuid) OR (current_setting('app.r'::text, true) = 'admin'::text)))";
        assert!(restricts(and, "users", &["company_id"], &[]));
        let halves = "((org_id IS NOT NULL) AND (auth.uid() IS NOT NULL))";
        assert!(!restricts(halves, "t", &["org_id"], &auth()));
        assert!(!restricts("true", "t", &["org_id"], &auth()));
        assert!(!restricts(
            "(current_setting('app.org'::text, true) = 'x'::text)",
            "t",
            &["org_key"],
            &[]
        ));
    }

    #[test]
    fn reads_tables_from_function_bodies() {
        let body = " select exists (select 1 from public.members m where m.org_id = o and m.user_id = auth.uid()) ";
        assert_eq!(
            tables_read(body),
            vec![(Some("public".into()), "members".into())]
        );
        assert!(calls_any(body, &auth()));
        assert!(tables_read("select * from unnest(array[1])").is_empty());
        // the column, not a longer name or a literal
        assert!(!restricts(
            "(other_org_key = current_setting('a'::text, true))",
            "t",
            &["org_key"],
            &[]
        ));
        assert!(!restricts(
            "(x = 'org_key'::text) AND (current_setting('a'::text, true) IS NOT NULL)",
            "t",
            &["org_key"],
            &[]
        ));
    }
}
