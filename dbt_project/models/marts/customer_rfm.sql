{#-
    Recency, frequency and monetary value per person as of the run's date, scored 1–5 and
    named by the RFM grid seed. One row per person of dim_customers.

    The rules live in int_features__rfm, which holds them for every feature snapshot date
    (the ML's training cutoffs); this mart is its rows for the run's date, for BI, the rule
    segments and the quality gates. Counted: completed orders in fct_orders (online and
    store, so before the as-of date) with a person. Refunded and cancelled orders count
    neither as an order nor as money. Scores are quintiles among buyers, 5 is best.
    People without a completed order have frequency 0, monetary 0, null recency and
    tenure, scores 1 and the segment `Prospects`.

    Types: days and scores integer, frequency bigint, money decimal(18, 2), rates double.
-#}
with

rfm as (

    select * from {{ ref('int_features__rfm') }}

),

final as (

    select
        person_id,
        as_of_date,
        first_ordered_at,
        last_ordered_at,
        recency_days,
        tenure_days,
        frequency,
        monetary,
        avg_order_value,
        r_score,
        f_score,
        m_score,
        rfm_cell,
        rfm_segment
    from rfm
    where as_of_date = {{ as_of_date() }}

)

select * from final
