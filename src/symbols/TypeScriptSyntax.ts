import { createRequire } from "node:module"
import type * as ts from "typescript"
import type {
  ExtractedImport,
  ExtractedReference,
  ExtractedSymbol,
  Extraction,
  ExtractionOutcome,
  ReferenceKind,
  SymbolKind
} from "./Extraction.js"

// Required, not imported: node's ESM loader first scans a CommonJS module's whole source for its export
// names, and typescript.js is large enough for that to cost more than loading it (bench/README.md, symbols).
const compiler = createRequire(import.meta.url)("typescript") as typeof ts

// The kinds `visit` switches on, as constants rather than a property read per case.
const {
  BinaryExpression,
  CallExpression,
  ClassDeclaration,
  ClassExpression,
  ConditionalType,
  ConstructSignature,
  Constructor,
  EnumDeclaration,
  ExportDeclaration,
  FunctionDeclaration,
  FunctionExpression,
  GetAccessor,
  ImportDeclaration,
  ImportEqualsDeclaration,
  InferType,
  InterfaceDeclaration,
  MappedType,
  MethodDeclaration,
  MethodSignature,
  ModuleBlock,
  ModuleDeclaration,
  NewExpression,
  PropertyAssignment,
  PropertyDeclaration,
  PropertySignature,
  SetAccessor,
  SourceFile,
  TypeAliasDeclaration,
  TypeReference,
  VariableDeclaration
} = compiler.SyntaxKind

const SIGNATURE_CHARS = 200

const scriptKind = (language: string) =>
  language === "TSX"
    ? compiler.ScriptKind.TSX
    : language === "JavaScript"
    ? compiler.ScriptKind.JS
    : compiler.ScriptKind.TS

const isFunctionLike = (node: ts.Node | undefined): boolean =>
  node !== undefined && (compiler.isArrowFunction(node) || compiler.isFunctionExpression(node))

/** The last identifier of `a`, `a.b.c`, `a.b<T>`, `a.b(...)` (a call's callee), or undefined. */
const nameOfExpression = (node: ts.Node): ts.Identifier | ts.PrivateIdentifier | undefined => {
  if (compiler.isIdentifier(node) || compiler.isPrivateIdentifier(node)) return node
  if (compiler.isPropertyAccessExpression(node)) return node.name
  if (compiler.isExpressionWithTypeArguments(node)) return nameOfExpression(node.expression)
  if (compiler.isCallExpression(node)) return nameOfExpression(node.expression)
  if (compiler.isParenthesizedExpression(node)) return nameOfExpression(node.expression)
  if (compiler.isNonNullExpression(node)) return nameOfExpression(node.expression)
  return undefined
}

const nameOfEntity = (node: ts.EntityName): ts.Identifier => compiler.isIdentifier(node) ? node : node.right

/** The `infer X` declarations of a conditional type's condition, e.g. `T extends Array<infer X> ? X : never`. */
const inferred = (node: ts.Node, out: Array<string> = []): Array<string> => {
  if (node.kind === InferType) out.push((node as ts.InferTypeNode).typeParameter.name.text)
  else compiler.forEachChild(node, (child) => void inferred(child, out))
  return out
}

/** The type parameters a node declares for itself and what it contains, or undefined for most nodes. */
const typeParametersOf = (node: ts.Node): ReadonlyArray<string> | undefined => {
  if (node.kind === MappedType) return [(node as ts.MappedTypeNode).typeParameter.name.text]
  if (node.kind === ConditionalType) return inferred((node as ts.ConditionalTypeNode).extendsType)
  const declared = (node as { readonly typeParameters?: ts.NodeArray<ts.TypeParameterDeclaration> }).typeParameters
  return declared === undefined || declared.length === 0 ? undefined : declared.map((p) => p.name.text)
}

const declarationName = (name: ts.Node | undefined): ts.Node | undefined =>
  name !== undefined &&
    (compiler.isIdentifier(name) || compiler.isPrivateIdentifier(name) || compiler.isStringLiteral(name) ||
      compiler.isNumericLiteral(name))
    ? name
    : undefined

/**
 * TypeScript and JavaScript through the TypeScript compiler's own parser, which reads every syntax
 * the language has (tree-sitter-typescript rejects, for one, variance annotations). Only the
 * syntax tree is used: no program, no type checker.
 */
export const extractTypeScript = (language: string, text: string): ExtractionOutcome => {
  // JSDoc is not read: it is most of the comments, and parsing it was a tenth of the time.
  const file = compiler.createSourceFile(
    "file",
    text,
    { languageVersion: compiler.ScriptTarget.Latest, jsDocParsingMode: compiler.JSDocParsingMode.ParseNone },
    false,
    scriptKind(language)
  )
  const symbols: Array<ExtractedSymbol> = []
  const references: Array<ExtractedReference> = []
  const imports: Array<ExtractedImport> = []
  const enclosing: Array<string> = []
  // A reference to a type parameter in scope (`A` in `<A>(a: A) => A`) is a local name, as a Ruby local is
  // (RubyLocals.ts): it names no definition anyone navigates to, and it was most of the type references.
  const typeParameters = new Map<string, number>()
  const scope = (names: ReadonlyArray<string>, by: number) => {
    for (const name of names) typeParameters.set(name, (typeParameters.get(name) ?? 0) + by)
  }

  const position = (at: number) => file.getLineAndCharacterOfPosition(at)
  const lineText = (line: number) => {
    const starts = file.getLineStarts()
    const end = line + 1 < starts.length ? starts[line + 1]! : text.length
    return text.slice(starts[line], end).trim().slice(0, SIGNATURE_CHARS)
  }

  const define = (name: ts.Node, kind: SymbolKind, whole: ts.Node, body: () => void) => {
    const start = position(name.getStart(file))
    const end = position(whole.end)
    const text = compiler.isStringLiteral(name) ? name.text : name.getText(file)
    symbols.push({
      name: text,
      kind,
      line: start.line + 1,
      column: start.character + 1,
      endLine: end.line + 1,
      endColumn: end.character + 1,
      container: enclosing.length > 0 ? enclosing[enclosing.length - 1]! : null,
      signature: lineText(start.line)
    })
    enclosing.push(text)
    body()
    enclosing.pop()
  }

  const refer = (name: ts.Node | undefined, kind: ReferenceKind) => {
    if (name === undefined) return
    const start = position(name.getStart(file))
    references.push({
      name: name.getText(file),
      kind,
      line: start.line + 1,
      column: start.character + 1,
      enclosing: enclosing.length > 0 ? enclosing[enclosing.length - 1]! : null
    })
  }

  const importOf = (specifier: ts.Node | undefined) => {
    if (specifier !== undefined && compiler.isStringLiteralLike(specifier)) {
      imports.push({ module: specifier.text, line: position(specifier.getStart(file)).line + 1 })
    }
  }

  const children = (node: ts.Node) => compiler.forEachChild(node, visit)

  const heritage = (clauses: ts.NodeArray<ts.HeritageClause> | undefined) => {
    for (const clause of clauses ?? []) for (const type of clause.types) refer(nameOfExpression(type), "inherit")
  }

  /** A variable is a definition when it holds a function or class, or when it is top-level. */
  const variable = (v: ts.VariableDeclaration, topLevel: SymbolKind | undefined): void => {
    const init = v.initializer
    if (!compiler.isIdentifier(v.name)) return children(v)
    if (init !== undefined && compiler.isClassExpression(init) && init.name === undefined) {
      return define(v.name, "class", v, () => {
        heritage(init.heritageClauses)
        init.members.forEach(visit)
      })
    }
    const kind = isFunctionLike(init) ? "function" : topLevel
    return kind === undefined ? children(v) : define(v.name, kind, v, () => children(v))
  }

  const visit = (node: ts.Node): void => {
    const declared = typeParametersOf(node)
    if (declared === undefined) return visitNode(node)
    scope(declared, 1)
    visitNode(node)
    scope(declared, -1)
  }

  const visitNode = (node: ts.Node): void => {
    switch (node.kind) {
      case FunctionDeclaration:
      case FunctionExpression: {
        const name = (node as ts.FunctionDeclaration).name
        return name === undefined ? children(node) : define(name, "function", node, () => children(node))
      }
      case ClassDeclaration:
      case ClassExpression: {
        const c = node as ts.ClassLikeDeclaration
        if (c.name === undefined) return children(node)
        return define(c.name, "class", node, () => {
          heritage(c.heritageClauses)
          for (const member of c.members) visit(member)
          c.modifiers?.forEach(visit)
        })
      }
      case InterfaceDeclaration: {
        const i = node as ts.InterfaceDeclaration
        return define(i.name, "interface", node, () => {
          heritage(i.heritageClauses)
          i.typeParameters?.forEach(visit)
          i.members.forEach(visit)
        })
      }
      case TypeAliasDeclaration:
        return define((node as ts.TypeAliasDeclaration).name, "type", node, () => children(node))
      case EnumDeclaration:
        return define((node as ts.EnumDeclaration).name, "enum", node, () => children(node))
      case ModuleDeclaration: {
        const m = node as ts.ModuleDeclaration
        return define(m.name, "module", node, () => m.body && visit(m.body))
      }
      case Constructor: {
        const keyword = node.getChildren(file).find((c) => c.kind === compiler.SyntaxKind.ConstructorKeyword)
        return define(keyword ?? node, "constructor", node, () => children(node))
      }
      case MethodDeclaration:
      case GetAccessor:
      case SetAccessor:
      case MethodSignature: {
        const name = declarationName((node as ts.MethodDeclaration).name)
        return name === undefined ? children(node) : define(name, "method", node, () => children(node))
      }
      case ConstructSignature:
        return define(node.getFirstToken(file) ?? node, "method", node, () => children(node))
      case PropertyDeclaration:
      case PropertySignature: {
        const p = node as ts.PropertyDeclaration
        const name = declarationName(p.name)
        if (name === undefined) return children(node)
        return define(name, isFunctionLike(p.initializer) ? "method" : "field", node, () => children(node))
      }
      case PropertyAssignment: {
        const p = node as ts.PropertyAssignment
        const name = declarationName(p.name)
        if (name === undefined || !isFunctionLike(p.initializer)) return children(node)
        return define(name, "function", node, () => visit(p.initializer))
      }
      case SourceFile:
      case ModuleBlock:
        for (const statement of (node as ts.SourceFile).statements) {
          if (compiler.isVariableStatement(statement)) {
            const constant = (statement.declarationList.flags & compiler.NodeFlags.Const) !== 0
            statement.modifiers?.forEach(visit)
            for (const d of statement.declarationList.declarations) variable(d, constant ? "constant" : "variable")
          } else {
            visit(statement)
          }
        }
        return
      case VariableDeclaration:
        return variable(node as ts.VariableDeclaration, undefined)
      case BinaryExpression: {
        const b = node as ts.BinaryExpression
        const right = b.right
        if (
          b.operatorToken.kind === compiler.SyntaxKind.EqualsToken &&
          (isFunctionLike(right) || compiler.isClassExpression(right))
        ) {
          const name = nameOfExpression(b.left)
          if (name !== undefined && compiler.isClassExpression(right) && right.name === undefined) {
            return define(name, "class", node, () => {
              heritage(right.heritageClauses)
              right.members.forEach(visit)
            })
          }
          if (name !== undefined && isFunctionLike(right)) return define(name, "function", node, () => visit(right))
        }
        return children(node)
      }
      case CallExpression: {
        const call = node as ts.CallExpression
        const callee = call.expression
        if (callee.kind === compiler.SyntaxKind.ImportKeyword) {
          importOf(call.arguments[0])
        } else if (compiler.isIdentifier(callee) && callee.text === "require" && call.arguments.length === 1) {
          importOf(call.arguments[0])
        } else {
          refer(nameOfExpression(callee), "call")
        }
        return children(node)
      }
      case NewExpression:
        refer(nameOfExpression((node as ts.NewExpression).expression), "call")
        return children(node)
      case TypeReference: {
        const name = (node as ts.TypeReferenceNode).typeName
        if (!compiler.isIdentifier(name) || (typeParameters.get(name.text) ?? 0) === 0) {
          refer(nameOfEntity(name), "type")
        }
        return children(node)
      }
      case ImportDeclaration: {
        const i = node as ts.ImportDeclaration
        importOf(i.moduleSpecifier)
        const clause = i.importClause
        if (clause?.name !== undefined) refer(clause.name, "import")
        const bindings = clause?.namedBindings
        if (bindings !== undefined) {
          if (compiler.isNamespaceImport(bindings)) refer(bindings.name, "import")
          else for (const element of bindings.elements) refer(element.propertyName ?? element.name, "import")
        }
        return
      }
      case ExportDeclaration:
        importOf((node as ts.ExportDeclaration).moduleSpecifier)
        return children(node)
      case ImportEqualsDeclaration: {
        const reference = (node as ts.ImportEqualsDeclaration).moduleReference
        if (compiler.isExternalModuleReference(reference)) importOf(reference.expression)
        return
      }
      default:
        return children(node)
    }
  }

  visit(file)
  const parseErrors =
    ((file as unknown as { parseDiagnostics?: ReadonlyArray<unknown> }).parseDiagnostics?.length ?? 0) > 0
  const extraction: Extraction = {
    symbols: symbols.sort((a, b) => a.line - b.line || a.column - b.column),
    references: references.sort((a, b) => a.line - b.line || a.column - b.column),
    imports
  }
  return { _tag: "Extracted", extraction, parseErrors }
}
