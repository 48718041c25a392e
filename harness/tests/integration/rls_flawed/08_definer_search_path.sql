-- docs/rls.md, pitfall 8: the audit trigger as SECURITY DEFINER without a pinned
-- search_path and with unqualified names. pg_temp is searched first for
-- tables, so a caller's temporary `audit_logs` receives the audit rows and
-- the real trail never sees the change.
create or replace function audit_row_change() returns trigger
    language plpgsql
    security definer
as $$
declare
    changed jsonb;
    tenant uuid;
begin
    changed := case when tg_op = 'DELETE' then to_jsonb(old) else to_jsonb(new) end;
    tenant := case when tg_table_name = 'companies' then (changed ->> 'id')::uuid
                   else (changed ->> 'company_id')::uuid end;
    if not exists (select 1 from companies c where c.id = tenant) then
        return null;
    end if;
    insert into audit_logs (company_id, table_name, record_id, action, new_values)
    values (tenant, tg_table_name, (changed ->> 'id')::uuid, tg_op, changed);
    return null;
end
$$;
