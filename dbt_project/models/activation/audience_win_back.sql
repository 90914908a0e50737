{#-
    Win-back: customers who used to buy and are slipping away, while a campaign can still
    reach them. In: RFM "At risk" or "Can't lose them", or lifecycle dormant (last order 91
    to 365 days ago), with a churn probability of at least var `win_back_min_churn`.
-#}
with

customers as (

    select * from {{ ref('customer_360') }}

),

final as (

    select
        person_id,
        'win_back' as audience,
        as_of_date,
        segment_name,
        rfm_segment,
        lifecycle_stage,
        p_purchase_30d,
        p_churn,
        predicted_value_12m
    from customers
    where
        (rfm_segment in ('At risk', 'Can''t lose them') or lifecycle_stage = 'dormant')
        and p_churn >= {{ var('win_back_min_churn') }}

)

select * from final
