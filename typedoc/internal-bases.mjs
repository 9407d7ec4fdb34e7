// TypeDoc plugin: a documented class that extends an undocumented one of this package
// (ThreadPoolExecutor extends the internal WorkerPoolExecutor) is shown extending the nearest
// documented ancestor instead (Executor), in its page and in the hierarchy; members it got from
// the hidden class are shown as its own, those from the ancestor as inherited from there.
import { Converter, ReferenceType, ReflectionKind } from 'typedoc';

/** The base classes of a class type, as TypeScript sees them. */
function baseTypes(checker, type) {
  return type.isClassOrInterface() ? checker.getBaseTypes(type) : [];
}

export function load(app) {
  /** Names of the hidden classes, whose names the members' "inherited from" still carry. */
  const hidden = new Set();
  /** Each class's ancestors, nearest first, read while the program is at hand. */
  const ancestors = new Map();

  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, refl) => {
    if (!refl.kindOf(ReflectionKind.Class)) return;
    const symbol = context.getSymbolFromReflection(refl);
    if (symbol === undefined) return;
    const chain = [];
    for (let [base] = baseTypes(context.checker, context.checker.getDeclaredTypeOfSymbol(symbol)); base?.symbol; [base] = baseTypes(context.checker, base)) {
      chain.push(base.symbol);
    }
    ancestors.set(refl, chain);
  });

  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    const { project } = context;
    for (const [refl, chain] of ancestors) {
      const [first] = refl.extendedTypes ?? [];
      if (!(first instanceof ReferenceType) || first.reflection !== undefined || first.package !== project.packageName) continue;
      // Up the chain past every class that has no page of its own.
      let target;
      for (const symbol of chain) {
        target = context.getReflectionFromSymbol(symbol);
        if (target !== undefined) break;
        hidden.add(symbol.name);
      }
      refl.extendedTypes = target === undefined ? undefined : [ReferenceType.createResolvedReference(target.name, target, project)];
    }
    ancestors.clear();
  });

  // After TypeDoc has pointed the members at the documented ancestor's where it has them.
  app.converter.on(
    Converter.EVENT_RESOLVE_END,
    (context) => {
      const fromHidden = (ref) => ref !== undefined && ref.reflection === undefined && hidden.has(ref.name.split('.')[0]);
      for (const refl of context.project.getReflectionsByKind(ReflectionKind.Class)) {
        for (const member of refl.children ?? []) {
          for (const owner of [member, ...member.getAllSignatures()]) {
            if (fromHidden(owner.inheritedFrom)) owner.inheritedFrom = undefined;
            if (fromHidden(owner.overwrites)) owner.overwrites = undefined;
          }
        }
      }
    },
    -100,
  );
}
