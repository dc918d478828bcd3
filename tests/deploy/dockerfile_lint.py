"""A small Dockerfile linter in the spirit of hadolint (its rules, our own code and codes).

``lint_dockerfile(text) -> list[Finding]``: pure, no Docker needed. Rules:

=====  ====================================================================================
MD001  every FROM names a pinned image: an exact version tag (``3.11.11-slim``) or a digest;
       no ``latest``, no bare name (hadolint DL3006/DL3007)
MD002  the final stage ends with a ``USER`` that is not root (DL3002)
MD003  no secret in ``ENV``/``ARG`` (a name with SECRET, PASSWORD, TOKEN or KEY and a value),
       no secret files copied in (``.env``, ``*.pem``, ``*.key``, ``id_rsa``)
MD004  the final stage has a ``HEALTHCHECK``
MD005  ``apt-get install`` with ``--no-install-recommends`` and ``-y``, lists removed (DL3015, DL3009)
MD006  ``pip install`` with ``--no-cache-dir`` (DL3042)
MD007  ``COPY``, not ``ADD``, for local files (DL3020)
MD008  ``CMD``/``ENTRYPOINT``/``HEALTHCHECK CMD`` in JSON (exec) form (DL3025)
MD009  ``WORKDIR`` is absolute (DL3000)
MD010  no ``sudo`` (DL3004)
=====  ====================================================================================
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|(^|_)KEYS?$|API_?KEY)", re.IGNORECASE)
SECRET_FILE = re.compile(r"(^|/)(\.env(\..*)?|id_rsa|id_ed25519|[^/]*\.pem|[^/]*\.key)$")
PINNED_TAG = re.compile(r"^v?\d+\.\d+(\.\d+)?([-.][A-Za-z0-9.-]+)?$")


@dataclass(frozen=True)
class Finding:
    code: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.code} {self.message}"


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str


def parse(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    out: list[Instruction] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        buffer += stripped
        keyword, _, args = buffer.partition(" ")
        out.append(Instruction(start, keyword.upper(), args.strip()))
        buffer = ""
    return out


def _stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(ins)
    return stages


def _image_pinned(image: str, stage_names: set[str]) -> bool:
    if image in stage_names or image == "scratch":
        return True
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
    return bool(name) and bool(PINNED_TAG.match(tag))


def image_pinned(image: str) -> bool:
    """The pinning rule of MD001, also used for compose's images."""
    return _image_pinned(image, set())


def _env_pairs(args: str) -> list[tuple[str, str]]:
    if "=" not in args.split(" ")[0]:  # legacy `ENV NAME value`
        name, _, value = args.partition(" ")
        return [(name, value.strip())]
    return [(m.group(1), m.group(2)) for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|\S*)", args)]


def _json_form(args: str) -> bool:
    try:
        value = json.loads(args)
    except ValueError:
        return False
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def lint_dockerfile(text: str) -> list[Finding]:
    instructions = parse(text)
    findings: list[Finding] = []
    stages = _stages(instructions)
    if not stages:
        return [Finding("MD001", 1, "no FROM instruction")]
    stage_names: set[str] = set()
    for ins in instructions:
        kw, args = ins.keyword, ins.args
        if kw == "FROM":
            parts = [p for p in args.split() if not p.startswith("--")]
            image = parts[0] if parts else ""
            if not _image_pinned(image, stage_names):
                findings.append(Finding("MD001", ins.line, f"image '{image}' is not pinned to a version or digest"))
            if len(parts) >= 3 and parts[1].upper() == "AS":
                stage_names.add(parts[2])
        elif kw in ("ENV", "ARG"):
            for name, value in _env_pairs(args):
                if SECRET_NAME.search(name) and value.strip('"'):
                    findings.append(Finding("MD003", ins.line, f"{kw} {name} bakes a secret into the image"))
        elif kw in ("COPY", "ADD"):
            sources = [p for p in args.split() if not p.startswith("--")][:-1]
            for src in sources:
                if SECRET_FILE.search(src):
                    findings.append(Finding("MD003", ins.line, f"{kw} {src} copies a secret file into the image"))
            if kw == "ADD" and not any(s.startswith(("http://", "https://")) for s in sources):
                findings.append(Finding("MD007", ins.line, "use COPY for local files"))
        elif kw == "RUN":
            for command in re.split(r"&&|;|\|\|", args):
                words = command.split()
                if "sudo" in words:
                    findings.append(Finding("MD010", ins.line, "sudo in RUN: the build runs as root already"))
                if "apt-get" in words and "install" in words:
                    if "--no-install-recommends" not in words:
                        findings.append(Finding("MD005", ins.line, "apt-get install without --no-install-recommends"))
                    if not ({"-y", "--yes", "-qy", "-yq"} & set(words)):
                        findings.append(Finding("MD005", ins.line, "apt-get install without -y"))
                if "pip" in words and "install" in words and "--no-cache-dir" not in words:
                    findings.append(Finding("MD006", ins.line, "pip install without --no-cache-dir"))
            if "apt-get" in args and "install" in args and "rm -rf /var/lib/apt/lists" not in args:
                findings.append(Finding("MD005", ins.line, "apt lists not removed in the same RUN"))
        elif kw in ("CMD", "ENTRYPOINT"):
            if not _json_form(args):
                findings.append(Finding("MD008", ins.line, f"{kw} in shell form: signals do not reach the process"))
        elif kw == "HEALTHCHECK":
            rest = re.sub(r"--\w[\w-]*=\S+\s*", "", args)
            if rest.upper() != "NONE":
                cmd = rest[3:].strip() if rest.upper().startswith("CMD") else rest
                if not _json_form(cmd):
                    findings.append(Finding("MD008", ins.line, "HEALTHCHECK CMD in shell form"))
        elif kw == "WORKDIR" and not args.startswith(("/", "$")):
            findings.append(Finding("MD009", ins.line, f"WORKDIR {args} is relative"))
    final = stages[-1]
    users = [ins for ins in final if ins.keyword == "USER"]
    if not users:
        findings.append(Finding("MD002", final[0].line, "the final stage runs as root (no USER)"))
    else:
        user = users[-1].args.split(":")[0]
        if user in ("root", "0"):
            findings.append(Finding("MD002", users[-1].line, "the final stage's USER is root"))
    if not any(ins.keyword == "HEALTHCHECK" for ins in final):
        findings.append(Finding("MD004", final[0].line, "the final stage has no HEALTHCHECK"))
    return findings


def final_stage(text: str) -> list[Instruction]:
    return _stages(parse(text))[-1]
