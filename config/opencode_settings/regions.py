"""Alibaba Cloud region ids the settings accept.

Source: Alibaba Cloud "Regions and zones" documentation (ECS), checked 2026-11.
The workspace runs outside mainland China: a public web service in a mainland region
needs an ICP filing, and the public model APIs are not reachable from there.
"""
from __future__ import annotations

OVERSEAS_REGIONS: dict[str, str] = {
    "cn-hongkong": "China (Hong Kong)",
    "ap-northeast-1": "Japan (Tokyo)",
    "ap-northeast-2": "South Korea (Seoul)",
    "ap-southeast-1": "Singapore",
    "ap-southeast-3": "Malaysia (Kuala Lumpur)",
    "ap-southeast-5": "Indonesia (Jakarta)",
    "ap-southeast-6": "Philippines (Manila)",
    "ap-southeast-7": "Thailand (Bangkok)",
    "us-east-1": "US (Virginia)",
    "us-west-1": "US (Silicon Valley)",
    "eu-west-1": "UK (London)",
    "eu-central-1": "Germany (Frankfurt)",
    "me-east-1": "UAE (Dubai)",
    "me-central-1": "Saudi Arabia (Riyadh)",
    "na-south-1": "Mexico",
}

MAINLAND_REGIONS: frozenset[str] = frozenset(
    {
        "cn-qingdao", "cn-beijing", "cn-zhangjiakou", "cn-huhehaote", "cn-wulanchabu",
        "cn-hangzhou", "cn-shanghai", "cn-nanjing", "cn-fuzhou", "cn-shenzhen",
        "cn-heyuan", "cn-guangzhou", "cn-chengdu", "cn-wuhan-lr",
    }
)
