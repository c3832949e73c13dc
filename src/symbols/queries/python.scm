; Ours, run before tree-sitter-python's tags.scm (earlier patterns win).

(class_definition
  body: (block
    (function_definition name: (identifier) @name) @definition.method))

(class_definition
  body: (block
    (decorated_definition
      definition: (function_definition name: (identifier) @name) @definition.method)))

(class_definition
  body: (block
    (expression_statement
      (assignment left: (identifier) @name) @definition.field)))

(class_definition
  superclasses: (argument_list
    [(identifier) @name (attribute attribute: (identifier) @name)]) @reference.inherit)

(type
  [(identifier) @name (attribute attribute: (identifier) @name)]) @reference.type

(type
  (generic_type (identifier) @name)) @reference.type

(import_statement
  name: (dotted_name) @import.module)

(import_statement
  name: (aliased_import name: (dotted_name) @import.module))

(import_from_statement
  module_name: [(dotted_name) (relative_import)] @import.module)

(import_from_statement
  name: [
    (dotted_name (identifier) @name)
    (aliased_import name: (dotted_name (identifier) @name))
  ]) @reference.import

(assignment
  left: (identifier) @name
  right: (lambda)) @definition.function
