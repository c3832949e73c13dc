// Headers hide declarations behind macros a parser without a preprocessor cannot expand
// (`__BEGIN_DECLS`, `int f (int) __THROW __nonnull ((1));`), and tree-sitter then loses the
// declaration around them. Like ctags' -I list, we blank the well-known ones, which expand to
// attributes or nothing, space for character so that every position stays where it was.
const DECLARATION_MACROS = new RegExp(
  String.raw`\b(?:__BEGIN_DECLS|__END_DECLS|__THROW|__THROWNL|__wur|__LEAF|__COLD|__extension__` +
    String.raw`|__attribute_\w+__|__attr_\w+|__fortified_attr_access|__nonnull|__errordecl|__warnattr)\b` +
    String.raw`(?:\s*\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\))?`,
  "g"
)

const blank = (text: string) => text.replace(/[^\n]/g, " ")

/** C or C++ source with the declaration-decorating macros above turned into spaces. */
export const blankDeclarationMacros = (text: string): string =>
  text.includes("__") ? text.replace(DECLARATION_MACROS, blank) : text
