def portal(request):
    return {"request_id": getattr(request, "request_id", "")}
