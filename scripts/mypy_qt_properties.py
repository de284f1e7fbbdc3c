"""A mypy plugin: a PySide6 constructor takes the Qt properties its class inherits.

PySide6 sets any Qt property of an object's class *or its bases* from a keyword
argument of the constructor (`QLabel("", objectName="title")`). The stubs PySide6 ships
list each class's own properties as keyword-only arguments of its `__init__`, but not
the ones it inherits, so mypy rejects `objectName=` (a QObject property) on every
widget, and `toolTip=` (a QWidget property) on every button. This plugin adds the
inherited keyword-only arguments to each constructor signature, typed as the base
class declares them; every other check of the call stays as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from mypy.nodes import ARG_NAMED_OPT, ARG_STAR2, TypeInfo
from mypy.plugin import FunctionSigContext, Plugin
from mypy.types import CallableType, FunctionLike, Instance, Overloaded, Type, get_proper_type

_QOBJECT = "PySide6.QtCore.QObject"


class QtPropertiesPlugin(Plugin):
    def get_function_signature_hook(
        self, fullname: str
    ) -> Callable[[FunctionSigContext], FunctionLike] | None:
        found = self.lookup_fully_qualified(fullname)
        info = found.node if found is not None else None
        if isinstance(info, TypeInfo) and info.has_base(_QOBJECT):
            constructor = info.get("__init__")
            # A class of ours with an __init__ of its own takes only what that declares.
            if constructor is not None and (constructor.fullname or "").startswith("PySide6."):
                return partial(_with_inherited_properties, info)
        return None


def _with_inherited_properties(info: TypeInfo, ctx: FunctionSigContext) -> FunctionLike:
    sig = ctx.default_signature
    made = get_proper_type(sig.ret_type)
    if not (isinstance(made, Instance) and made.type is info):
        return sig  # not the class's constructor (a call through an alias or a cast)
    names = list(sig.arg_names)
    kinds = list(sig.arg_kinds)
    types = list(sig.arg_types)
    # Keyword-only arguments go before a **kwargs, if the signature has one.
    at = kinds.index(ARG_STAR2) if ARG_STAR2 in kinds else len(kinds)
    for name, typ in _inherited_properties(info):
        if name not in names:
            names.insert(at, name)
            kinds.insert(at, ARG_NAMED_OPT)
            types.insert(at, typ)
            at += 1
    return sig.copy_modified(arg_names=names, arg_kinds=kinds, arg_types=types)


def _inherited_properties(info: TypeInfo) -> list[tuple[str, Type]]:
    found: list[tuple[str, Type]] = []
    for base in info.mro[1:]:
        init = base.names.get("__init__")
        declared = get_proper_type(init.type) if init is not None else None
        if isinstance(declared, Overloaded):
            signatures: list[CallableType] = list(declared.items)
        elif isinstance(declared, CallableType):
            signatures = [declared]
        else:
            continue
        for signature in signatures:
            for name, kind, typ in zip(
                signature.arg_names, signature.arg_kinds, signature.arg_types, strict=True
            ):
                if kind == ARG_NAMED_OPT and name is not None:
                    found.append((name, typ))
    return found


def plugin(version: str) -> type[Plugin]:
    return QtPropertiesPlugin
