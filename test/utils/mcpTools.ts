/** The navigation tools the MCP server must list (issue 19), pinned here rather than read from `src/mcp`. */
export const NAVIGATION_TOOLS = [
  "search_symbols",
  "find_definitions",
  "find_references",
  "find_callers",
  "get_file",
  "get_outline",
  "dependencies",
  "analyze_impact"
]

/** Every tool the MCP server and the REST bridge must list. */
export const MCP_TOOLS = [
  "search_code",
  ...NAVIGATION_TOOLS,
  "list_repositories",
  "get_repository",
  "register_repository",
  "reindex_repository",
  "get_job"
]
