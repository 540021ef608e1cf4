/**
 * Values that break naive quoting, each alone and all together. Shared by the command line's
 * unit suites and the server's end-to-end suites of the command line.
 */
export const AWKWARD_VALUES: readonly string[] = [
  'line one\nline two\n',
  'with "double" and \'single\' quotes',
  'back\\slash and a literal \\n that is not a newline',
  '$HOME ${HOME} $(echo pwned) `id` \\$ESCAPED',
  '# not a comment',
  'a=b=c',
  '  leading and trailing spaces  ',
  'ünïcödé ☃ 日本語 🎉👩‍👩‍👧',
  'carriage\r\nreturn\rand lone cr',
  'tab\there',
  "it's",
  '\\',
  '"',
  "'",
  '$',
  'ends with a backslash\\',
  'value # with hash after a space',
];
