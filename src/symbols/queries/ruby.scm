; Ours, run before tree-sitter-ruby's tags.scm (earlier patterns win).

(assignment
  left: (constant) @name) @definition.constant

(class
  superclass: (superclass [(constant) @name (scope_resolution name: (constant) @name)])) @reference.inherit

(call
  method: (identifier) @_mixin
  arguments: (argument_list [(constant) @name (scope_resolution name: (constant) @name)])
  (#match? @_mixin "^(include|extend|prepend)$")) @reference.inherit

(call
  method: (identifier) @_require
  arguments: (argument_list . (string (string_content) @import.module))
  (#match? @_require "^(require|require_relative|load|autoload)$"))

(constant) @name @reference.type
