//! The named SQL queries of the reference app (the portal's CRUD layer), one
//! constant each, so a query's text, its name in the reports and its gate
//! are the same thing and can be read in one place.
//!
//! Every query names `company_id` explicitly even though row-level security
//! enforces it too: the app does the same (the policies are the safety net,
//! the predicate is what lets the planner use the tenant indexes). The
//! queries run as `portal_app` with the tenant context set
//! transaction-locally by the transport.

/// Full-text project search with ranking and a status filter, paginated.
/// `$1` company, `$2` search text, `$3` statuses (text[]), `$4` limit, `$5` offset.
pub const SEARCH_PROJECTS: &str = "\
select p.id, p.name, p.location, p.status, ts_rank(p.search_vector, q) as rank
from projects p, plainto_tsquery('english', $2) q
where p.company_id = $1 and p.search_vector @@ q and p.status = any($3::text[])
order by rank desc, p.id
limit $4 offset $5";

/// Projects filtered by location and status, newest first, paginated.
/// `$1` company, `$2` location (substring), `$3` statuses, `$4` limit, `$5` offset.
pub const FILTER_PROJECTS: &str = "\
select p.id, p.name, p.location, p.status, p.application_deadline
from projects p
where p.company_id = $1 and p.location ilike '%' || $2 || '%' and p.status = any($3::text[])
order by p.created_at desc, p.id
limit $4 offset $5";

/// One project's detail page with its application count.
/// `$1` company, `$2` project.
pub const PROJECT_DETAIL: &str = "\
select p.id, p.name, p.developer, p.location, p.address, p.status, p.total_units,
       p.affordable_units, p.description, p.price_range_min::float8, p.price_range_max::float8,
       (select count(*) from applications a where a.company_id = p.company_id and a.project_id = p.id) as applications
from projects p
where p.company_id = $1 and p.id = $2";

/// An applicant applies to a project (idempotent: applying twice is a no-op).
/// `$1` new id, `$2` company, `$3` project, `$4` applicant, `$5` priority score.
pub const APPLY: &str = "\
insert into applications (id, company_id, project_id, applicant_id, status, priority_score, submitted_at)
values ($1, $2, $3, $4, 'submitted', $5, now())
on conflict do nothing
returning id";

/// An applicant's own applications (must show the one just submitted).
/// `$1` company, `$2` applicant.
pub const MY_APPLICATIONS: &str = "\
select a.id, a.status, a.submitted_at, p.name
from applications a
join projects p on p.company_id = a.company_id and p.id = a.project_id
where a.company_id = $1 and a.applicant_id = $2
order by a.submitted_at desc
limit 50";

/// Staff dashboard: the newest projects with application statistics
/// (the portal's `get_projects_with_stats`, one page of it).
/// `$1` company.
pub const PROJECTS_WITH_STATS: &str = "\
select p.id, p.name, p.status,
       count(a.id) as application_count,
       avg(a.priority_score)::float8 as avg_priority_score,
       count(*) filter (where a.status = 'approved') as approved_count
from (select id, company_id, name, status, created_at from projects
      where company_id = $1 order by created_at desc limit 25) p
left join applications a on a.company_id = p.company_id and a.project_id = p.id
group by p.id, p.name, p.status, p.created_at
order by p.created_at desc";

/// Staff applicant search (full text over name and email).
/// `$1` company, `$2` search text.
pub const SEARCH_APPLICANTS: &str = "\
select a.id, a.first_name, a.last_name, a.email
from applicants a
where a.company_id = $1 and a.search_vector @@ plainto_tsquery('english', $2)
order by a.last_name, a.id
limit 20";

/// Admin: the oldest applications of one project waiting for a decision
/// (an admin works through a project's queue, which keeps the scan to that
/// project's rows instead of sorting the whole tenant's backlog).
/// `$1` company, `$2` project, `$3` limit.
pub const PENDING_APPLICATIONS: &str = "\
select a.id
from applications a
where a.company_id = $1 and a.project_id = $2 and a.status in ('submitted', 'under_review')
order by a.submitted_at, a.id
limit $3";

/// Admin bulk status update (the portal's `UPDATE ... FROM (VALUES ...)`,
/// with arrays so it is one prepared statement whatever the batch size).
/// `$1` company, `$2` ids (uuid[]), `$3` statuses (text[]).
pub const BULK_UPDATE_STATUS: &str = "\
update applications a
set status = d.status, reviewed_at = now(), updated_at = now()
from unnest($2::uuid[], $3::text[]) as d(id, status)
where a.company_id = $1 and a.id = d.id";

/// The public contact form.
/// `$1` id, `$2` company, `$3` name, `$4` email, `$5` subject, `$6` message.
pub const CONTACT: &str = "\
insert into contact_submissions (id, company_id, name, email, subject, message, status, created_at)
values ($1, $2, $3, $4, $5, $6, 'new', now())";

/// The point select `scripts/compare-pgbench.sh` measures against
/// `pgbench -S` (same shape: one row by primary key).
/// `$1` company, `$2` project.
pub const POINT_SELECT: &str =
    "select p.name from projects p where p.company_id = $1 and p.id = $2";

/// Project statuses an applicant can browse.
pub const OPEN_STATUSES: [&str; 3] = ["marketing", "accepting_applications", "construction"];
