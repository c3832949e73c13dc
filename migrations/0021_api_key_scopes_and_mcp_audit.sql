-- Key scopes (SPEC 11): `read` and/or `write`. Keys issued before scopes were enforced keep the access
-- they had (both); a key always has at least one scope, and only known ones.
UPDATE public.api_keys SET scopes = '{read,write}' WHERE scopes = '{}';
ALTER TABLE public.api_keys
  ALTER COLUMN scopes SET DEFAULT '{read,write}',
  ADD CONSTRAINT api_keys_scopes_check CHECK (cardinality(scopes) > 0 AND scopes <@ '{read,write}'::text[]);

-- The MCP tool(s) a `/mcp` request called, for the audit row (NULL for every other route).
ALTER TABLE public.api_key_usage ADD COLUMN tool text;
