"""model.cost's answer as lines of text (the JSON is `ddb.modeling.pricing.price`'s answer as it is)."""


def _money(value: float) -> str:
    return f"${value:,.2f}"


def cost_lines(answer: dict) -> list[str]:
    """The per-pattern table, the month in both modes, the cheaper one, and the hottest partition."""
    prices, month = answer["prices"], answer["month"]
    lines = [
        f"prices: {prices['region']}, taken {prices['taken']}: ${prices['read_request_million']:g} / M read units, "
        f"${prices['write_request_million']:g} / M write units, ${prices['rcu_hour']:g} / RCU-hour, "
        f"${prices['wcu_hour']:g} / WCU-hour, ${prices['storage_gb_month']:g} / GB-month",
        f"{'pattern':<24} {'req/s':>8} {'RCU/req':>8} {'WCU/req':>8} {'on demand/month':>16}",
    ]
    for p in answer["patterns"]:
        lines.append(
            f"{p['letter'] + ' ' + p['name']:<24} {p['rate']:>8g} {p['read_units']:>8g} {p['write_units']:>8g} {_money(p['on_demand']):>16}"
        )
    units = month["provisioned_capacity"]
    lines += [
        f"storage: {month['storage_gb']:.6f} GB, {_money(month['storage'])} a month",
        f"on demand:   {_money(month['on_demand'])} a month ({month['hours']} h)",
        f"provisioned: {_money(month['provisioned'])} a month ({units['table_rcu']} + {units['index_rcu']} RCU, "
        f"{units['table_wcu']} + {units['index_wcu']} WCU on table + GSI, for a peak of {answer['peak_factor']:g}x)",
        f"cheaper: {month['cheaper']}",
    ]
    hot = [p for p in answer["partitions"] if p["hot"]]
    busiest = max(answer["partitions"], key=lambda p: max(p["rcu_share"], p["wcu_share"]), default=None)
    if hot:
        lines += [
            f"hot partition: {p['partition']} needs {p['rcu']:,.0f} RCU / {p['wcu']:,.0f} WCU per second at the peak (one partition serves 3,000 / 1,000)"
            for p in hot
        ]
    elif busiest:
        share = max(busiest["rcu_share"], busiest["wcu_share"])
        lines.append(
            f"hot partitions: none; the busiest key ({busiest['partition']}) takes {share:.1%} of one partition's 3,000 RCU / 1,000 WCU at the peak"
        )
    return lines
