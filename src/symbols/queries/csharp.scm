; Ours, run before tree-sitter-c-sharp's tags.scm (earlier patterns win).

(struct_declaration
  name: (identifier) @name) @definition.class

(record_declaration
  name: (identifier) @name) @definition.class

(enum_declaration
  name: (identifier) @name) @definition.enum

(delegate_declaration
  name: (identifier) @name) @definition.type

(constructor_declaration
  name: (identifier) @name) @definition.constructor

(property_declaration
  name: (identifier) @name) @definition.field

(field_declaration
  (variable_declaration (variable_declarator name: (identifier) @name))) @definition.field

(namespace_declaration
  name: (qualified_name) @name) @definition.module

(file_scoped_namespace_declaration
  name: [(identifier) (qualified_name)] @name) @definition.module

(base_list
  [(identifier) @name (generic_name (identifier) @name) (qualified_name name: (identifier) @name)]) @reference.inherit

(object_creation_expression
  type: [(identifier) @name (generic_name (identifier) @name) (qualified_name name: (identifier) @name)]) @reference.call

(invocation_expression
  function: [(identifier) @name (generic_name (identifier) @name)]) @reference.call

(invocation_expression
  function: (member_access_expression name: (generic_name (identifier) @name))) @reference.call

(using_directive
  [(identifier) (qualified_name)] @import.module)
