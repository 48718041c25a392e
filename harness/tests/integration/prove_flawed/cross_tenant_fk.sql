-- attachments: the reference to "order" no longer pairs the account, so
-- an attachment of one tenant may point at another tenant's order
-- (docs/rls.md, pitfall 10).
do $$
declare c text;
begin
    select conname into c from pg_constraint
    where conrelid = 'attachments'::regclass and contype = 'f' and cardinality(conkey) = 2;
    execute format('alter table attachments drop constraint %I', c);
end
$$;
alter table attachments add foreign key ("order") references "order"(id);
