from .build import build_graph
from .model import BOX_BY, GRAPH_TYPE_LABELS, GRAPH_TYPES, Edge, Graph, GraphOptions, Node

__all__ = ["build_graph", "Graph", "GraphOptions", "Node", "Edge", "GRAPH_TYPES", "GRAPH_TYPE_LABELS", "BOX_BY"]
