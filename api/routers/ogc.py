"""Routes for the ogc domain (filled in by its issue)."""

from fastapi import APIRouter

router = APIRouter()
