// Generates TypeScript interfaces from the schema: one interface per titled object. Two flavours:
// `Foo` is the object as the API server returns it (defaults applied, so defaulted fields are present) and
// `FooInput` is what a client may send (only `required` fields are mandatory).
import type { SchemaNode } from './schema/json-schema.ts';

export interface TypegenOptions {
  /** Header comment lines (without the comment markers). */
  header: string[];
  /** Type names used for titled objects that come from elsewhere, e.g. metadata -> V1ObjectMeta. */
  externalTypes: Record<string, { name: string; from: string }>;
  /** Titles whose subtree also gets an `...Input` flavour. */
  inputRoots: string[];
}

type Flavour = 'stored' | 'input';

interface Declaration {
  name: string;
  body: string;
}

function jsdoc(lines: string[], indent: string): string {
  const text = lines.filter((l) => l !== '');
  if (text.length === 0) return '';
  if (text.length === 1) return `${indent}/** ${text[0]} */\n`;
  return `${indent}/**\n${text.map((l) => `${indent} * ${l}`).join('\n')}\n${indent} */\n`;
}

function literal(value: string | number): string {
  return typeof value === 'string' ? `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'` : String(value);
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

class Generator {
  private readonly declarations = new Map<string, Declaration>();
  private readonly order: string[] = [];
  private readonly imports = new Map<string, Set<string>>();
  private readonly options: TypegenOptions;

  constructor(options: TypegenOptions) {
    this.options = options;
  }

  typeOf(node: SchemaNode, flavour: Flavour, where: string): string {
    if (node.title && this.options.externalTypes[node.title]) {
      const ext = this.options.externalTypes[node.title]!;
      if (!this.imports.has(ext.from)) this.imports.set(ext.from, new Set());
      this.imports.get(ext.from)!.add(ext.name);
      return ext.name;
    }
    if (node.enum) return node.enum.map(literal).join(' | ');
    if (node['x-kubernetes-int-or-string']) return 'number | string';
    switch (node.type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array': {
        if (!node.items) throw new Error(`${where}: array without items`);
        const item = this.typeOf(node.items, flavour, `${where}[]`);
        return item.includes('|') ? `(${item})[]` : `${item}[]`;
      }
      case 'object':
        if (node.properties) {
          if (!node.title) throw new Error(`${where}: an object with properties needs a title to name its interface`);
          return this.declareInterface(node, flavour, where);
        }
        if (node.additionalProperties) return `Record<string, ${this.typeOf(node.additionalProperties, flavour, `${where}.*`)}>`;
        return 'Record<string, unknown>';
      default:
        throw new Error(`${where}: schema without a type`);
    }
  }

  private declareInterface(node: SchemaNode, flavour: Flavour, where: string): string {
    const name = flavour === 'input' ? `${node.title}Input` : node.title!;
    const required = new Set(node.required ?? []);
    const members: string[] = [];
    for (const [prop, child] of Object.entries(node.properties ?? {})) {
      const present = required.has(prop) || (flavour === 'stored' && child.default !== undefined);
      const doc: string[] = [];
      if (child.description) doc.push(child.description);
      const key = IDENTIFIER.test(prop) ? prop : literal(prop);
      members.push(`${jsdoc(doc, '  ')}  ${key}${present ? '' : '?'}: ${this.typeOf(child, flavour, `${where}.${prop}`)};`);
    }
    const body = members.join('\n');
    const existing = this.declarations.get(name);
    if (existing) {
      // One title, one shape: two schema nodes sharing a title must produce the same interface.
      if (existing.body !== body) throw new Error(`${where}: title ${node.title} is used for two different shapes`);
      return name;
    }
    this.declarations.set(name, { name, body });
    this.order.push(name);
    return name;
  }

  render(): string {
    const lines = this.options.header.map((l) => `// ${l}`);
    lines.push('');
    for (const [from, names] of this.imports) lines.push(`import type { ${[...names].sort().join(', ')} } from '${from}';`);
    if (this.imports.size > 0) lines.push('');
    for (const name of this.order) {
      const { body } = this.declarations.get(name)!;
      lines.push(`export interface ${name} {`, body, '}', '');
    }
    return lines.join('\n');
  }
}

/** Renders the TypeScript declarations of the schema rooted at `root` (which must have a title). */
export function renderTypes(root: SchemaNode, options: TypegenOptions): string {
  const generator = new Generator(options);
  generator.typeOf(root, 'stored', root.title ?? 'root');
  const visitInputs = (node: SchemaNode, path: string): void => {
    if (node.title && options.inputRoots.includes(node.title)) {
      generator.typeOf(node, 'input', path);
      return;
    }
    for (const [prop, child] of Object.entries(node.properties ?? {})) visitInputs(child, `${path}.${prop}`);
  };
  visitInputs(root, root.title ?? 'root');
  return generator.render();
}
