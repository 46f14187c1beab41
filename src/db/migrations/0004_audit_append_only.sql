ALTER TABLE "audit_events" ADD COLUMN "request_id" text;--> statement-breakpoint
-- The audit trail is append-only (ASVS 5.0 V16.4.2). Triggers rather than GRANTs: they hold for
-- every role, the table's owner and superusers included (PGlite runs as a superuser), and only
-- the owner can disable or drop them, so a service role that does not own the table cannot
-- (README "Audit log": the production roles and the retention job).
CREATE FUNCTION "audit_events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;--> statement-breakpoint
CREATE TRIGGER "audit_events_no_update_delete" BEFORE UPDATE OR DELETE ON "audit_events" FOR EACH ROW EXECUTE FUNCTION "audit_events_append_only"();--> statement-breakpoint
CREATE TRIGGER "audit_events_no_truncate" BEFORE TRUNCATE ON "audit_events" FOR EACH STATEMENT EXECUTE FUNCTION "audit_events_append_only"();
